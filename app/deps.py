"""Shared dependencies of the routers, as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .db import Database
from .files import FileStore
from .instance import Instance
from .lessons.service import LessonService
from .runs.service import RunService
from .services.datasets import DatasetService
from .services.networks import NetworkService
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    db: Database
    files: FileStore
    instance: Instance
    networks: NetworkService
    datasets: DatasetService
    runs: RunService
    lessons: LessonService


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(request: Request) -> Settings:
    return request.app.state.services.settings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
