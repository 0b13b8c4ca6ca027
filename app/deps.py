"""Shared dependencies of the routers, as Annotated aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from .classroom.challenges import Challenges
from .classroom.dashboard import Dashboard
from .classroom.policy import ClassPolicy
from .classroom.service import ClassroomService
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
    classroom: ClassroomService
    challenges: Challenges
    dashboard: Dashboard
    policy: ClassPolicy  # the class's locks, checked by the services before a student's action


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(request: Request) -> Settings:
    return request.app.state.services.settings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
