"""Routing across partner organizations: the directory, schedules, the decision, coverage gaps.

Pure: no network, no database, the clock passed in; the only I/O is reading YAML files in the loaders.
"""

from routing.coverage import Coverage, Gap, coverage
from routing.decide import Candidate, Decision, Exclusion, RequestError, RouteRequest, route
from routing.errors import DirectoryError, Problem, RoutingError
from routing.hotlines import Hotline, Hotlines, default_hotlines_path, load_hotlines, parse_hotlines
from routing.loader import example_directory_path, load_directory, parse_directory
from routing.model import ALL, Desk, Directory, ExtraHours, HoursRule, Organization
from routing.municipalities import Municipality
from routing.municipalities import find as find_municipality
from routing.municipalities import get as municipality
from routing.places import PREFECTURES, PREFECTURES_EN, TOPICS
from routing.report import coverage_json, render_coverage_html, render_coverage_text, render_decision
from routing.schedule import day_intervals, is_japanese_holiday, is_open, next_opening

__all__ = [
    "ALL", "Candidate", "Municipality", "find_municipality", "municipality",
    "Coverage", "Decision", "Desk", "Directory", "DirectoryError", "Exclusion",
    "ExtraHours", "Gap", "Hotline", "Hotlines", "HoursRule", "Organization", "PREFECTURES",
    "PREFECTURES_EN", "Problem", "RequestError", "RouteRequest", "RoutingError", "TOPICS", "coverage",
    "coverage_json", "day_intervals", "default_hotlines_path", "example_directory_path",
    "is_japanese_holiday", "is_open", "load_directory", "load_hotlines", "next_opening",
    "parse_directory", "parse_hotlines", "render_coverage_html", "render_coverage_text",
    "render_decision", "route",
]
