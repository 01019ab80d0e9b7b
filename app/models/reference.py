"""Reference data the bureau keeps: zones (重点区域, parks and districts) and industries (产业).

Projects carry a zone's and an industry's ``key``; the migration that made these tables
seeded them with the values the service shipped with, so the keys clients already use
stay valid. Each kind is a tree: ``parent_key`` names the district a park lies in, or the
industry chain a link belongs to.
"""

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, StringConstraints, WithJsonSchema
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from app.models.base import utcnow
from app.models.fields import ShortText, reject_null
from app.models.types import UTCDateTime
from app.services.projects.codes import PROVINCES

KEY_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
KEY_MAX = 32


def _key(value: str) -> str:
    if not re.fullmatch(KEY_PATTERN, value):
        raise ValueError("must be lower snake_case: a-z, digits and single underscores, starting with a letter, "
                         "e.g. binhai_new_area")
    return value


# What a project's zone or industry is, and what a parent names.
ReferenceKey = Annotated[
    str, StringConstraints(min_length=1, max_length=KEY_MAX), AfterValidator(_key),
    WithJsonSchema({"type": "string", "pattern": KEY_PATTERN, "maxLength": KEY_MAX,
                    "description": "The key of a zone or industry (`/zones`, `/industries`)."}),
]


def _region_code(value: str) -> str:
    if not re.fullmatch(r"\d{6}", value):
        raise ValueError("must be 6 digits: an administrative division code of GB/T 2260, e.g. 370211")
    if value[:2] not in PROVINCES:
        raise ValueError(f"does not begin with a province-level code of GB/T 2260 ({value[:2]} is none)")
    return value


RegionCode = Annotated[
    str, StringConstraints(min_length=6, max_length=6), AfterValidator(_region_code),
    WithJsonSchema({"type": "string", "pattern": r"^\d{6}$", "examples": ["370211"],
                    "description": "The 6-digit administrative division code (GB/T 2260)."}),
]

NATIONAL_CODE_PATTERN = r"^[A-T]\d{0,4}$"


def _national_code(value: str) -> str:
    if not re.fullmatch(NATIONAL_CODE_PATTERN, value):
        raise ValueError("must be a GB/T 4754-2017 category: a section letter A-T and up to four digits, e.g. C38")
    return value


NationalCode = Annotated[
    str, StringConstraints(min_length=1, max_length=5), AfterValidator(_national_code),
    WithJsonSchema({"type": "string", "pattern": NATIONAL_CODE_PATTERN, "examples": ["C38"],
                    "description": "The GB/T 4754-2017 category (a section letter and up to four digits)."}),
]


class ReferenceCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    key: ReferenceKey = Field(description="Lower snake_case, unique; it cannot change once a project uses it.")
    name: ShortText = Field(description="The Chinese name, unique: what ledgers and exports show.")
    name_en: ShortText | None = None
    parent_key: ReferenceKey | None = Field(default=None, description="The entry this one lies within.")


class ReferenceUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    key: ReferenceKey | None = Field(default=None, description="Only while no project or child uses it.")
    name: ShortText | None = None
    name_en: ShortText | None = None
    parent_key: ReferenceKey | None = None

    _not_null = reject_null("key", "name")


class ReferenceRead(SQLModel):
    id: int
    key: str
    name: str
    name_en: str | None
    parent_key: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class ZoneCreate(ReferenceCreate):
    region_code: RegionCode | None = None


class ZoneUpdate(ReferenceUpdate):
    region_code: RegionCode | None = None


class ZoneRead(ReferenceRead):
    region_code: str | None


class IndustryCreate(ReferenceCreate):
    national_code: NationalCode | None = None


class IndustryUpdate(ReferenceUpdate):
    national_code: NationalCode | None = None


class IndustryRead(ReferenceRead):
    national_code: str | None


_zone_version = Column("version", Integer, nullable=False)  # the optimistic-lock counter behind ETags


class ZoneEntry(SQLModel, table=True):
    """A zone projects belong to: a new area, an industrial park, a district."""

    __tablename__ = "zones"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(KEY_MAX), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    name_en: str | None = Field(default=None, sa_column=Column(String(100)))
    parent_key: str | None = Field(default=None, sa_column=Column(ForeignKey("zones.key"), index=True))
    region_code: str | None = Field(default=None, sa_column=Column(String(6)))
    version: int = Field(default=1, sa_column=_zone_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    __mapper_args__ = {"version_id_col": _zone_version}


_industry_version = Column("version", Integer, nullable=False)


class IndustryEntry(SQLModel, table=True):
    """An industry projects belong to: a chain (产业链) or one of its links."""

    __tablename__ = "industries"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(KEY_MAX), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    name_en: str | None = Field(default=None, sa_column=Column(String(100)))
    parent_key: str | None = Field(default=None, sa_column=Column(ForeignKey("industries.key"), index=True))
    national_code: str | None = Field(default=None, sa_column=Column(String(5)))
    version: int = Field(default=1, sa_column=_industry_version)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    __mapper_args__ = {"version_id_col": _industry_version}


# What the migration seeded (the enums the service shipped with, app.models.enums.Zone and
# Industry, with their labels), in order: key, Chinese name, English name.
ZONE_SEED: tuple[tuple[str, str, str], ...] = (
    ("binhai_new_area", "滨海新区", "Binhai New Area"),
    ("international_land_port", "国际陆港", "International Land Port"),
    ("dagu_river_belt", "大沽河生态产业带", "Dagu River eco-industrial belt"),
    ("western_district", "西部城区", "Western district"),
    ("sanlihe_downstream", "三里河下游综合功能区", "Sanlihe downstream functional area"),
    ("yinglan_tech_city", "英蓝国际金融服务外包科技城", "Yinglan international financial outsourcing tech city"),
    ("other", "其他", "Other"),
)
INDUSTRY_SEED: tuple[tuple[str, str, str], ...] = (
    ("advanced_manufacturing", "先进制造", "Advanced manufacturing"),
    ("electronics", "电子信息", "Electronics"),
    ("new_materials", "新材料", "New materials"),
    ("new_energy", "新能源", "New energy"),
    ("automotive", "汽车及零部件", "Automotive"),
    ("biomedicine", "生物医药", "Biomedicine"),
    ("chemicals", "化工", "Chemicals"),
    ("food_processing", "食品加工", "Food processing"),
    ("logistics", "现代物流", "Logistics"),
    ("finance", "金融", "Finance"),
    ("modern_services", "现代服务业", "Modern services"),
    ("digital_economy", "数字经济", "Digital economy"),
    ("tourism", "文化旅游", "Tourism"),
    ("agriculture", "现代农业", "Agriculture"),
    ("infrastructure", "基础设施", "Infrastructure"),
    ("other", "其他", "Other"),
)
