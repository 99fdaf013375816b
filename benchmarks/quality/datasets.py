"""The quality suite's CSV files, drawn from fixed seeds with the standard library only.

Every value comes from ``random.Random(seed)`` and every float is formatted here at a fixed
number of decimals, so ``python -m benchmarks.quality.datasets`` rewrites byte-identical files
on any Python >= 3.10 and the expected answers in tasks.yaml stay right. The mess (category
spellings, currency text, blanks, duplicate rows, day-first dates) is on purpose: the medium
tasks are about cleaning it. ``sales.csv`` and ``products.csv`` share ``product_id``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

DATA_DIR = Path(__file__).with_name("data")
Rows = list[list[str]]
T = TypeVar("T")

CATALOGUE = {  # category: (product names from cheapest to dearest, lowest and highest price)
    "Electronics": (("USB-C Hub", "Gaming Mouse", "HD Webcam", "Wireless Earbuds",
                     "Bluetooth Speaker", "Mechanical Keyboard", "Smart Watch", "27-inch Monitor",
                     "Tablet 10-inch", "Laptop 14-inch"), 20, 1600),
    "Home": (("Wall Clock", "Bath Towel Set", "Desk Lamp", "Throw Blanket", "Knife Block",
              "Blender", "Coffee Maker", "Cookware Set", "Air Purifier", "Robot Vacuum"), 15, 450),
    "Toys": (("Yo-Yo", "Kite", "Plush Bear", "Art Kit", "Puzzle 1000 Pieces", "Board Game Classic",
              "Building Blocks", "Remote Control Car", "Train Set", "Doll House"), 5, 180),
    "Books": (("Poetry Collection", "Children's Picture Book", "Mystery Novel", "Sci-Fi Novel",
               "Travel Guide", "Biography", "Cookbook", "Python Handbook", "Atlas",
               "History of Art"), 8, 70),
    "Sports": (("Jump Rope", "Water Bottle", "Football", "Yoga Mat", "Fitness Band",
                "Cycling Helmet", "Dumbbell Pair", "Running Shoes", "Tennis Racket",
                "Camping Tent"), 8, 400),
    "Garden": (("Garden Gloves", "Seed Starter Kit", "Watering Can", "Plant Pots Set",
                "Bird Feeder", "Pruning Shears", "Garden Hose", "Compost Bin", "Patio Heater",
                "Lawn Mower"), 6, 700),
}  # fmt: skip
REGIONS = ("North", "South", "East", "West")
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Operations",
               "Customer Support")  # fmt: skip
FIRST = ("Alice", "Bruno", "Chen", "Dana", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kara", "Liam", "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara",
         "Umar", "Vera", "Wen", "Xavi", "Yara", "Zoe", "Omar", "Lena", "Ravi", "Mona")  # fmt: skip
LAST = ("Smith", "Garcia", "Müller", "Rossi", "Kowalski", "Nguyen", "Okafor", "Silva", "Larsen",
        "Dubois", "Tanaka", "Ivanova", "Haddad", "Kim", "Novak", "Berg", "Costa", "Patel",
        "Jensen", "Moreau")  # fmt: skip
CITIES = ("London", "Berlin", "Madrid", "Warsaw", "Lisbon", "Dublin")
STATIONS = {  # station: (mean temp_max_c, seasonal swing, share of wet days, mean rain mm)
    "Oslo": (10.5, 11.0, 0.38, 5.0),
    "Bergen": (11.5, 7.0, 0.62, 8.5),
    "Trondheim": (9.0, 9.5, 0.45, 5.5),
    "Tromso": (4.5, 9.0, 0.50, 4.0),
    "Stavanger": (12.0, 7.5, 0.55, 6.5),
}
#: school: (effect on exam scores, effect on attendance)
SCHOOLS = {"Northside": (3.0, 1.2), "Riverside": (-2.0, -1.5), "Hillcrest": (0.0, 0.0)}
EDUCATION = ("some high school", "high school", "some college", "bachelor's degree",
             "master's degree")  # fmt: skip
NEIGHBORHOODS = {  # price per sqft in 2019
    "Oakwood": 210, "Riverside": 260, "Downtown": 340, "Hillview": 185, "Maple Park": 230,
    "Lakeshore": 300,
}  # fmt: skip


def _fixed(value: float, places: int) -> str:
    return f"{value:.{places}f}"


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _pick(rng: random.Random, options: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(options, weights)[0]


def _messy(rng: random.Random, word: str, share: float) -> str:
    """``word`` as another clerk typed it, now and then: lower or upper case, or padded."""
    if rng.random() >= share:
        return word
    return rng.choice([word.lower(), word.upper(), f" {word}", f"{word} "])


def _blank(rng: random.Random, text: str, share: float) -> str:
    return "" if rng.random() < share else text


def products() -> Rows:
    rng = random.Random(101)
    rows = []
    for category, (names, low, high) in CATALOGUE.items():
        for rank, name in enumerate(names):
            step = (rank + rng.random()) / len(names)
            price = math.floor(low * (high / low) ** step) + 0.99
            cost = price * rng.uniform(0.45, 0.75)
            supplier = rng.choice(["Acme Supply", "Nordic Goods", "BlueRiver", "Globex",
                                   "Kestrel Trading", "Omni Wholesale"])  # fmt: skip
            launched = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(5 * 365))
            rows.append([name, category, _fixed(cost, 2), _fixed(price, 2), supplier,
                         launched.isoformat()])  # fmt: skip
    rng.shuffle(rows)
    header = ["product_id", "product_name", "category", "unit_cost", "list_price", "supplier",
              "launch_date"]  # fmt: skip
    return [header] + [[f"P{101 + number}", *row] for number, row in enumerate(rows)]


def sales() -> Rows:
    rng = random.Random(202)
    catalogue = products()[1:]
    weights = [1 / math.sqrt(float(row[4])) for row in catalogue]
    month_weight = [0.8, 0.7, 0.8, 0.9, 0.9, 1.0, 1.0, 0.9, 1.0, 1.1, 1.5, 1.9]
    days = []
    while len(days) < 1500:
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(365))
        if rng.random() * 2 < month_weight[day.month - 1]:
            days.append(day)
    rows = []
    for number, day in enumerate(sorted(days)):
        product = _pick(rng, catalogue, weights)
        price = float(product[4])
        quantity = _pick(rng, [1, 2, 3, 4, 5, 6], [40, 25, 14, 10, 6, 5])
        if price > 500:
            quantity = 1 + (quantity > 4)
        shown = f"${price:,.2f}" if rng.random() < 0.6 else _fixed(price, 2)
        rows.append([
            f"SO-{10001 + number}", day.isoformat(),
            _messy(rng, _pick(rng, REGIONS, [30, 22, 26, 22]), 0.15), product[0],
            f"C{rng.randrange(1000, 1400)}", _blank(rng, str(quantity), 0.03), shown,
            str(_pick(rng, [0, 5, 10, 15, 20], [55, 15, 15, 10, 5])),
            _pick(rng, ["online", "store"], [55, 45]),
        ])  # fmt: skip
    for _ in range(25):  # rows ingested twice
        rows.insert(rng.randrange(len(rows) + 1), list(rng.choice(rows)))
    header = ["order_id", "order_date", "region", "product_id", "customer_id", "quantity",
              "unit_price", "discount_pct", "channel"]  # fmt: skip
    return [header] + rows


def employees() -> Rows:
    rng = random.Random(303)
    base = dict(zip(DEPARTMENTS, (78000, 56000, 60000, 66000, 52000, 50000, 42000), strict=True))
    rows = []
    for number in range(420):
        department = _pick(rng, DEPARTMENTS, [26, 18, 11, 10, 7, 16, 12])
        level = _pick(rng, [1, 2, 3, 4, 5], [30, 30, 22, 12, 6])
        hired = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(5113))
        tenure = (dt.date(2024, 1, 1) - hired).days / 365.25
        salary = base[department] * (1 + 0.18 * (level - 1)) * (1 + 0.012 * tenure)
        salary = round(salary * rng.uniform(0.88, 1.12) / 500) * 500
        shown = f"${salary:,}" if rng.random() < 0.8 else str(salary)
        remote = _pick(rng, ["Yes", "No"], [35, 65])
        if rng.random() < 0.2:
            remote = rng.choice([remote[0], remote.lower(), remote.upper()])
        rating = _pick(rng, [1, 2, 3, 4, 5], [5, 15, 40, 28, 12] if remote == "No"
                       else [4, 12, 36, 32, 16])  # fmt: skip
        rows.append([
            f"E{1001 + number}", f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            _messy(rng, department, 0.12), str(level), hired.strftime("%d/%m/%Y"),
            str(hired.year - rng.randrange(22, 45)), _blank(rng, shown, 0.05),
            _blank(rng, str(rating), 0.04), remote, rng.choice(CITIES),
        ])  # fmt: skip
    header = ["employee_id", "name", "department", "job_level", "hire_date", "birth_year",
              "salary", "performance_rating", "remote", "city"]  # fmt: skip
    return [header] + rows


def weather() -> Rows:
    rng = random.Random(404)
    anomaly = dict.fromkeys(STATIONS, 0.0)
    rows = []
    for day_number in range(365):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=day_number)
        season = -math.cos(2 * math.pi * (day_number - 15) / 365)
        for station, (mean, swing, wet_share, rain_mm) in STATIONS.items():
            anomaly[station] = 0.7 * anomaly[station] + rng.gauss(0, 2.2)
            high = mean + swing * season + anomaly[station]
            low = high - rng.uniform(3, 10)
            wet = rng.random() < wet_share
            rain = -rain_mm * math.log(1 - rng.random()) if wet else 0.0
            humidity = _clip(78 - 0.9 * (high - mean) + (9 if wet else 0) + rng.gauss(0, 6),
                             25, 100)  # fmt: skip
            rows.append([
                day.isoformat(), station, _blank(rng, _fixed(high, 1), 0.02), _fixed(low, 1),
                _blank(rng, _fixed(rain, 1), 0.015), _blank(rng, str(round(humidity)), 0.01),
                _fixed(abs(rng.gauss(14, 7)), 1),
            ])  # fmt: skip
    header = ["date", "station", "temp_max_c", "temp_min_c", "precip_mm", "humidity_pct",
              "wind_kmh"]  # fmt: skip
    return [header] + rows


def students() -> Rows:
    rng = random.Random(505)
    rows = []
    for number in range(600):
        school = _pick(rng, list(SCHOOLS), [36, 34, 30])
        lunch = _pick(rng, ["standard", "free"], [68, 32])
        hours = _clip(rng.gauss(8, 4), 0.5, 24)
        on_scores, on_attendance = SCHOOLS[school]
        ability = rng.gauss(0, 9) + on_scores - (6 if lunch == "free" else 0)
        attendance = rng.gauss(91, 5) + on_attendance + 0.25 * hours - 2 * (lunch == "free")
        attendance = _clip(attendance, 55, 100)
        scores = [
            _clip(base + ability + rng.gauss(0, 7), 0, 100)
            for base in (38 + 2.6 * hours, 55 + 1.2 * hours, 52 + 1.4 * hours)
        ]
        math_score, reading, writing = (str(round(score)) for score in scores)
        rows.append([
            f"S{2001 + number}", school, rng.choice("FM"), lunch, rng.choice(EDUCATION),
            _fixed(hours, 1), f"{round(attendance)}%", _blank(rng, math_score, 0.03), reading,
            writing,
        ])  # fmt: skip
    header = ["student_id", "school", "gender", "lunch", "parent_education",
              "study_hours_per_week", "attendance_pct", "math_score", "reading_score",
              "writing_score"]  # fmt: skip
    return [header] + rows


def sessions() -> Rows:
    rng = random.Random(606)
    users = [f"U{3001 + number}" for number in range(700)]
    activity = [(1 - rng.random()) ** -0.625 for _ in users]  # Pareto, shape 1.6
    start = dt.datetime(2024, 3, 1)
    times = sorted(start + dt.timedelta(seconds=rng.randrange(92 * 86400)) for _ in range(2000))
    conversion = {"desktop": 0.065, "mobile": 0.03, "tablet": 0.045}
    rows = []
    for number, began in enumerate(times):
        device = _pick(rng, list(conversion), [46, 44, 10])
        pages = min(40, 1 + int(-4 * math.log(1 - rng.random())))
        converted = rng.random() < conversion[device] * (0.5 + pages / 8)
        rows.append([
            f"W{100001 + number}", _pick(rng, users, activity), began.isoformat(sep=" "),
            _messy(rng, device, 0.2), _pick(rng, ["Chrome", "Safari", "Firefox", "Edge"],
                                            [60, 25, 8, 7]),
            _pick(rng, ["US", "GB", "DE", "FR", "IN", "BR", "CA"], [35, 14, 12, 9, 14, 8, 8]),
            _pick(rng, ["search", "direct", "social", "email", "ads"], [38, 24, 16, 8, 14]),
            str(pages), str(int(pages * rng.uniform(20, 90))), str(int(converted)),
            _fixed(rng.uniform(15, 240), 2) if converted else "",
        ])  # fmt: skip
    header = ["session_id", "user_id", "start_time", "device", "browser", "country", "referrer",
              "pages_viewed", "duration_sec", "converted", "order_value"]  # fmt: skip
    return [header] + rows


def housing() -> Rows:
    rng = random.Random(707)
    rows = []
    for number in range(800):
        neighborhood = rng.choice(list(NEIGHBORHOODS))
        sqft = round(_clip(rng.gauss(1800, 550), 550, 4200) / 10) * 10
        bedrooms = int(_clip(round(sqft / 600 + rng.gauss(0, 0.7)), 1, 6))
        bathrooms = _clip(round(2 * (bedrooms * 0.6 + rng.gauss(0.3, 0.4))) / 2, 1, 4.5)
        built = rng.randrange(1925, 2023)
        sold = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(1826))
        growth = 1.06 ** ((sold - dt.date(2019, 1, 1)).days / 365.25)
        age = 1 - 0.0015 * (2023 - built)
        price = NEIGHBORHOODS[neighborhood] * sqft * growth * age * rng.uniform(0.85, 1.15)
        if rng.random() < 0.008:  # a few estates far above the rest
            price *= 3.5
        rows.append([
            f"H{5001 + number}", neighborhood, f"{sqft:,}", str(bedrooms), _fixed(bathrooms, 1),
            _blank(rng, str(built), 0.05), _pick(rng, ["yes", "no"], [70, 30]),
            sold.isoformat(), str(round(price / 100) * 100),
        ])  # fmt: skip
    header = ["house_id", "neighborhood", "sqft", "bedrooms", "bathrooms", "year_built",
              "garage", "sale_date", "sale_price"]  # fmt: skip
    return [header] + rows


TABLES: dict[str, Callable[[], Rows]] = {
    "products.csv": products,
    "sales.csv": sales,
    "employees.csv": employees,
    "weather.csv": weather,
    "students.csv": students,
    "sessions.csv": sessions,
    "housing.csv": housing,
}
DATASET_NAMES = tuple(TABLES)


def write_datasets(directory: Path) -> list[Path]:
    """Write every CSV into ``directory`` (UTF-8, "\\n" line endings); return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in TABLES.items():
        path = directory / name
        with path.open("w", encoding="utf-8", newline="") as file:
            csv.writer(file, lineterminator="\n").writerows(build())
        paths.append(path)
    return paths


def main() -> int:
    paths = write_datasets(DATA_DIR)
    for path in paths:
        rows = path.read_text(encoding="utf-8").count("\n") - 1
        print(f"{path.name:<14} {rows:>5} rows {path.stat().st_size:>8,} bytes")
    print(f"{'total':<25} {sum(path.stat().st_size for path in paths):>8,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
