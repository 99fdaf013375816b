"""The datasets read and cleaned exactly as the tasks' constraints tell the agents to.

Shared by the reference solutions, so each cleaning rule (drop duplicate rows, strip and
title-case a category, read "$1,454.99" as a number, parse day-first dates) is written once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read(data: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(data / name)


def number(text: pd.Series) -> pd.Series:
    """Text such as "$1,454.99", "93%" or "1,740" as numbers (blank stays missing)."""
    digits = text.astype("string").str.replace(r"[$,%]", "", regex=True)
    return pd.to_numeric(digits).astype("float64")


def sales(data: Path) -> pd.DataFrame:
    """sales.csv without duplicate rows or missing quantities, with a revenue column."""
    frame = read(data, "sales.csv").drop_duplicates().dropna(subset=["quantity"]).copy()
    frame["region"] = frame["region"].str.strip().str.title()
    frame["unit_price"] = number(frame["unit_price"])
    frame["revenue"] = frame["quantity"] * frame["unit_price"] * (1 - frame["discount_pct"] / 100)
    return frame


def employees(data: Path) -> pd.DataFrame:
    frame = read(data, "employees.csv")
    frame["department"] = frame["department"].str.strip().str.title()
    frame["salary"] = number(frame["salary"])
    frame["hire_date"] = pd.to_datetime(frame["hire_date"], format="%d/%m/%Y")
    frame["remote"] = frame["remote"].str.strip().str.upper().str[0].map({"Y": True, "N": False})
    return frame


def sessions(data: Path) -> pd.DataFrame:
    frame = read(data, "sessions.csv")
    frame["device"] = frame["device"].str.strip().str.lower()
    frame["start_time"] = pd.to_datetime(frame["start_time"], format="%Y-%m-%d %H:%M:%S")
    return frame


def housing(data: Path) -> pd.DataFrame:
    frame = read(data, "housing.csv")
    frame["sqft"] = number(frame["sqft"])
    frame["sale_date"] = pd.to_datetime(frame["sale_date"], format="%Y-%m-%d")
    return frame


def weather(data: Path, station: str | None = None) -> pd.DataFrame:
    frame = read(data, "weather.csv")
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    return frame if station is None else frame[frame["station"] == station]
