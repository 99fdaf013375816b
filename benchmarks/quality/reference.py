"""Reference solutions: the code that computes every ``expected`` value in tasks.yaml.

``python -m benchmarks.quality.reference`` checks each task's expected values against its
solution; ``--write`` puts the solutions' values into tasks.yaml (only the ``expected:`` lines
change). A solution refuses a fragile answer, a number a hair from a rounding boundary or a
tie for first place, so that exactly one answer is right however an agent sums its floats.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .cleaned import employees, housing, number, read, sales, sessions, weather
from .datasets import DATA_DIR
from .tasks import TASKS_FILE, load_tasks

Solution = Callable[[Path], dict[str, str]]
SOLUTIONS: dict[str, Solution] = {}


class FragileAnswer(ValueError):
    """The computed answer would flip with float noise or an arbitrary tie-break."""


def solution(task_id: str) -> Callable[[Solution], Solution]:
    def register(function: Solution) -> Solution:
        SOLUTIONS[task_id] = function
        return function

    return register


def fixed(value: float, places: int) -> str:
    """``value`` rounded half up to ``places`` decimals, unless it sits on a boundary."""
    scaled = abs(float(value)) * 10**places
    if abs(scaled - math.floor(scaled) - 0.5) < 1e-3:
        raise FragileAnswer(f"{value!r} is too close to a rounding boundary at {places} places")
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return str(abs(rounded) if rounded == 0 else rounded)


def top(values: pd.Series, largest: bool = True) -> tuple[str, float]:
    """The label and value of the largest (or smallest) entry, which must lead the runner-up
    by 0.1% at least: a near tie would turn a small slip in cleaning into another answer."""
    ordered = values.sort_values(ascending=not largest)
    first, second = float(ordered.iloc[0]), float(ordered.iloc[1])
    if abs(first - second) < 1e-3 * max(1.0, abs(first)):
        raise FragileAnswer(f"near tie for first place: {ordered.index[0]} {first:g} and "
                            f"{ordered.index[1]} {second:g}")  # fmt: skip
    return str(ordered.index[0]), first


def whole(value: float) -> str:
    """A number the task reports with no decimals, which must have no fraction to round."""
    if float(value) != round(float(value)):
        raise FragileAnswer(f"{value} has a fraction")
    return str(int(value))


# ---- easy ----


@solution("students_mean_math")
def _(data: Path) -> dict[str, str]:
    return {"mean_math": fixed(read(data, "students.csv")["math_score"].mean(), 2)}


@solution("weather_max_temp")
def _(data: Path) -> dict[str, str]:
    station, value = top(weather(data).set_index("station")["temp_max_c"].dropna())
    return {"max_temp": fixed(value, 1), "station": station}


@solution("sessions_unique_users")
def _(data: Path) -> dict[str, str]:
    return {"unique_users": str(read(data, "sessions.csv")["user_id"].nunique())}


@solution("products_most_expensive")
def _(data: Path) -> dict[str, str]:
    name, price = top(read(data, "products.csv").set_index("product_name")["list_price"])
    return {"product_name": name, "list_price": fixed(price, 2)}


@solution("housing_median_price")
def _(data: Path) -> dict[str, str]:
    return {"median_price": whole(read(data, "housing.csv")["sale_price"].median())}


@solution("employees_mean_rating")
def _(data: Path) -> dict[str, str]:
    return {"mean_rating": fixed(read(data, "employees.csv")["performance_rating"].mean(), 2)}


@solution("students_best_school_reading")
def _(data: Path) -> dict[str, str]:
    means = read(data, "students.csv").groupby("school")["reading_score"].mean()
    school, value = top(means)
    return {"school": school, "mean_reading": fixed(value, 2)}


@solution("weather_bergen_precip")
def _(data: Path) -> dict[str, str]:
    return {"total_precip": fixed(weather(data, "Bergen")["precip_mm"].sum(), 1)}


@solution("sales_distinct_customers")
def _(data: Path) -> dict[str, str]:
    return {"customers": str(read(data, "sales.csv")["customer_id"].nunique())}


@solution("housing_common_bedrooms")
def _(data: Path) -> dict[str, str]:
    bedrooms, houses = top(read(data, "housing.csv")["bedrooms"].value_counts())
    return {"bedrooms": bedrooms, "houses": str(int(houses))}


@solution("students_writing_std")
def _(data: Path) -> dict[str, str]:
    return {"std_writing": fixed(read(data, "students.csv")["writing_score"].std(ddof=1), 2)}


@solution("products_sports_mean_price")
def _(data: Path) -> dict[str, str]:
    products = read(data, "products.csv")
    return {"mean_price": fixed(products[products["category"] == "Sports"]["list_price"].mean(), 2)}


# ---- medium ----


@solution("sales_region_revenue")
def _(data: Path) -> dict[str, str]:
    region, revenue = top(sales(data).groupby("region")["revenue"].sum())
    return {"region": region, "revenue": fixed(revenue, 2)}


@solution("employees_dept_salary")
def _(data: Path) -> dict[str, str]:
    department, value = top(employees(data).groupby("department")["salary"].median())
    return {"department": department, "median_salary": whole(value)}


@solution("sessions_device_conversion")
def _(data: Path) -> dict[str, str]:
    device, rate = top(sessions(data).groupby("device")["converted"].mean() * 100)
    return {"device": device, "conversion_pct": fixed(rate, 2)}


@solution("housing_price_per_sqft")
def _(data: Path) -> dict[str, str]:
    frame = housing(data)
    frame["ppsf"] = frame["sale_price"] / frame["sqft"]
    neighborhood, value = top(frame.groupby("neighborhood")["ppsf"].median())
    return {"neighborhood": neighborhood, "median_ppsf": fixed(value, 2)}


@solution("sales_duplicate_rows")
def _(data: Path) -> dict[str, str]:
    frame = pd.read_csv(data / "sales.csv", dtype=str, keep_default_na=False)
    duplicates = int(frame.duplicated().sum())
    return {"duplicates": str(duplicates), "rows_left": str(len(frame) - duplicates)}


@solution("employees_hire_year")
def _(data: Path) -> dict[str, str]:
    year, hires = top(employees(data)["hire_date"].dt.year.value_counts())
    return {"year": year, "hires": str(int(hires))}


@solution("students_attendance_school")
def _(data: Path) -> dict[str, str]:
    frame = read(data, "students.csv")
    frame["attendance"] = number(frame["attendance_pct"])
    school, value = top(frame.groupby("school")["attendance"].mean(), largest=False)
    return {"school": school, "mean_attendance": fixed(value, 2)}


@solution("employees_remote_rating")
def _(data: Path) -> dict[str, str]:
    means = employees(data).groupby("remote")["performance_rating"].mean()
    return {"remote_mean": fixed(means[True], 2), "onsite_mean": fixed(means[False], 2)}


@solution("sales_busiest_month")
def _(data: Path) -> dict[str, str]:
    frame = sales(data)
    month, quantity = top(frame.groupby(frame["order_date"].str[:7])["quantity"].sum())
    return {"month": month, "quantity": str(int(quantity))}


@solution("weather_tromso_warmest_month")
def _(data: Path) -> dict[str, str]:
    frame = weather(data, "Tromso")
    month, value = top(frame.groupby(frame["date"].dt.month)["temp_max_c"].mean())
    return {"month": month, "mean_temp": fixed(value, 2)}


@solution("housing_old_houses")
def _(data: Path) -> dict[str, str]:
    frame = housing(data)
    old = frame[frame["year_built"] < 1960]
    return {
        "missing_year": str(int(frame["year_built"].isna().sum())),
        "mean_price_pre1960": fixed(old["sale_price"].mean(), 2),
    }


# ---- hard ----


@solution("sales_category_profit")
def _(data: Path) -> dict[str, str]:
    frame = sales(data).merge(read(data, "products.csv"), on="product_id", validate="m:1")
    net_price = frame["unit_price"] * (1 - frame["discount_pct"] / 100)
    frame["profit"] = frame["quantity"] * (net_price - frame["unit_cost"])
    category, profit = top(frame.groupby("category")["profit"].sum())
    return {"category": category, "profit": fixed(profit, 2)}


@solution("weather_oslo_rolling")
def _(data: Path) -> dict[str, str]:
    frame = weather(data, "Oslo").sort_values("date")
    if len(frame) != 365 or frame["date"].duplicated().any():
        raise FragileAnswer("Oslo does not have one row per day")
    rolling = frame.set_index(frame["date"].dt.strftime("%Y-%m-%d"))["temp_max_c"].rolling(7)
    end_date, value = top(rolling.mean().dropna())
    return {"max_rolling_mean": fixed(value, 2), "end_date": end_date}


@solution("students_hours_slope")
def _(data: Path) -> dict[str, str]:
    frame = read(data, "students.csv").dropna(subset=["math_score"])
    slope, intercept = np.polyfit(frame["study_hours_per_week"], frame["math_score"], 1)
    return {"slope": fixed(slope, 3), "intercept": fixed(intercept, 3)}


@solution("sessions_chi_square")
def _(data: Path) -> dict[str, str]:
    frame = sessions(data)
    observed = pd.crosstab(frame["device"], frame["converted"])
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.to_numpy().sum()
    statistic = float(((observed.to_numpy() - expected) ** 2 / expected).sum())
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return {"chi2": fixed(statistic, 2), "dof": str(dof)}


@solution("employees_tenure_salary_corr")
def _(data: Path) -> dict[str, str]:
    frame = employees(data).dropna(subset=["salary"])
    tenure = (pd.Timestamp("2024-01-01") - frame["hire_date"]).dt.days
    return {"correlation": fixed(np.corrcoef(tenure, frame["salary"])[0, 1], 3)}


@solution("weather_temp_humidity_corr")
def _(data: Path) -> dict[str, str]:
    frame = weather(data).dropna(subset=["temp_max_c", "humidity_pct"])
    return {"correlation": fixed(np.corrcoef(frame["temp_max_c"], frame["humidity_pct"])[0, 1], 3)}


@solution("housing_price_outliers")
def _(data: Path) -> dict[str, str]:
    prices = read(data, "housing.csv")["sale_price"]
    z = ((prices - prices.mean()) / prices.std(ddof=1)).abs()
    if ((z - 3).abs() < 0.01).any():
        raise FragileAnswer("a z-score is within 0.01 of 3")
    return {"outliers": str(int((z > 3).sum()))}


@solution("housing_price_growth")
def _(data: Path) -> dict[str, str]:
    frame = housing(data)
    by_year = frame.groupby(frame["sale_date"].dt.year)["sale_price"]
    first, last = float(by_year.get_group(2019).median()), float(by_year.get_group(2023).median())
    return {
        "median_2019": whole(first),
        "median_2023": whole(last),
        "growth_pct": fixed(100 * (last - first) / first, 1),
    }


@solution("students_lunch_ttest")
def _(data: Path) -> dict[str, str]:
    frame = read(data, "students.csv").dropna(subset=["math_score"])
    standard = frame.loc[frame["lunch"] == "standard", "math_score"]
    free = frame.loc[frame["lunch"] == "free", "math_score"]
    difference = standard.mean() - free.mean()
    t = difference / math.sqrt(standard.var(ddof=1) / len(standard) + free.var(ddof=1) / len(free))
    return {"mean_diff": fixed(difference, 2), "t_stat": fixed(t, 3)}


@solution("sessions_user_span")
def _(data: Path) -> dict[str, str]:
    times = sessions(data).groupby("user_id")["start_time"]
    spans = (times.max() - times.min())[times.size() >= 2].dt.total_seconds() / 86400
    return {"users": str(len(spans)), "mean_span_days": fixed(spans.mean(), 2)}


@solution("sales_q4_top_product")
def _(data: Path) -> dict[str, str]:
    frame = sales(data)
    quarter = frame[frame["order_date"].between("2023-10-01", "2023-12-31")]
    names = read(data, "products.csv").set_index("product_id")["product_name"]
    by_product = quarter.groupby("product_id")["revenue"].sum()
    product_id, revenue = top(by_product)
    return {"product_name": names[product_id], "revenue": fixed(revenue, 2)}


# ---- checking and writing tasks.yaml ----


def solve_all(data: Path = DATA_DIR) -> dict[str, dict[str, str] | FragileAnswer]:
    """Every solution's answer by task id (a FragileAnswer where it refused one)."""
    answers: dict[str, dict[str, str] | FragileAnswer] = {}
    for task_id, function in SOLUTIONS.items():
        try:
            answers[task_id] = function(data)
        except FragileAnswer as problem:
            answers[task_id] = problem
    return answers


def write_expected(answers: dict[str, dict[str, str]], path: Path = TASKS_FILE) -> int:
    """Rewrite the ``expected:`` line of every task in ``answers``; return how many changed."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    task_id, changed = None, 0
    for index, line in enumerate(lines):
        if match := re.match(r"- id: (\S+)", line):
            task_id = match.group(1)
        elif line.startswith("  expected:") and task_id in answers:
            new = f"  expected: {json.dumps(answers[task_id], ensure_ascii=False)}\n"
            changed += new != line
            lines[index] = new
    path.write_text("".join(lines), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.reference")
    parser.add_argument("--write", action="store_true", help="put the answers into tasks.yaml")
    args = parser.parse_args(argv)
    answers = solve_all()
    fragile = {key: value for key, value in answers.items() if isinstance(value, FragileAnswer)}
    for task_id, problem in fragile.items():
        print(f"FRAGILE  {task_id}: {problem}")
    if args.write:
        solved = {key: value for key, value in answers.items() if key not in fragile}
        print(f"{write_expected(solved)} expected lines changed in {TASKS_FILE.name}")
    tasks = {task.id: task for task in load_tasks()}
    bad = len(fragile) + len(set(tasks) ^ set(SOLUTIONS))
    for task_id in sorted(set(tasks) ^ set(SOLUTIONS)):
        print(f"MISSING  {task_id}: a task without a solution or a solution without a task")
    for task_id, task in tasks.items():
        answer = answers.get(task_id)
        if isinstance(answer, dict):
            verdict = "ok" if answer == task.expected else "MISMATCH"
            bad += verdict != "ok"
            wanted = "" if verdict == "ok" else f" (expected {task.expected})"
            print(f"{verdict:<8} {task.level:<6} {task_id:<30} {answer}{wanted}")
    print(f"{len(tasks)} tasks, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
