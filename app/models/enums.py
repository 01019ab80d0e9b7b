"""The service's vocabularies. Values are English snake_case; ``LABELS`` gives each its
Chinese display label, served by ``GET /api/v1/meta/enums``."""

from enum import StrEnum


class Stage(StrEnum):
    negotiating = "negotiating"
    signed = "signed"
    registered = "registered"
    preliminary = "preliminary"
    under_construction = "under_construction"
    in_production = "in_production"
    terminated = "terminated"


# The forward order of the lifecycle; ``terminated`` stands outside it.
STAGE_ORDER: tuple[Stage, ...] = (
    Stage.negotiating,
    Stage.signed,
    Stage.registered,
    Stage.preliminary,
    Stage.under_construction,
    Stage.in_production,
)


class TransitionKind(StrEnum):
    created = "created"
    advance = "advance"
    terminate = "terminate"
    correction = "correction"


class FundingSource(StrEnum):
    foreign = "foreign"
    domestic = "domestic"


class Zone(StrEnum):
    binhai_new_area = "binhai_new_area"
    international_land_port = "international_land_port"
    dagu_river_belt = "dagu_river_belt"
    western_district = "western_district"
    sanlihe_downstream = "sanlihe_downstream"
    yinglan_tech_city = "yinglan_tech_city"
    other = "other"


class Industry(StrEnum):
    advanced_manufacturing = "advanced_manufacturing"
    electronics = "electronics"
    new_materials = "new_materials"
    new_energy = "new_energy"
    automotive = "automotive"
    biomedicine = "biomedicine"
    chemicals = "chemicals"
    food_processing = "food_processing"
    logistics = "logistics"
    finance = "finance"
    modern_services = "modern_services"
    digital_economy = "digital_economy"
    tourism = "tourism"
    agriculture = "agriculture"
    infrastructure = "infrastructure"
    other = "other"


class Designation(StrEnum):
    city_key = "city_key"
    key_preliminary = "key_preliminary"


class DesignationStatus(StrEnum):
    candidate = "candidate"
    applied = "applied"
    granted = "granted"
    rejected = "rejected"


class UnitKind(StrEnum):
    department = "department"
    district = "district"
    other = "other"


class Role(StrEnum):
    admin = "admin"
    bureau = "bureau"
    leader = "leader"
    unit = "unit"
    integration = "integration"
    viewer = "viewer"


class ImportAction(StrEnum):
    """What a ledger import does with one row."""

    create = "create"
    update = "update"
    unchanged = "unchanged"


LABELS: dict[str, dict[str, str]] = {
    "stage": {
        "negotiating": "在谈",
        "signed": "签约",
        "registered": "注册/落地",
        "preliminary": "前期",
        "under_construction": "在建",
        "in_production": "投产",
        "terminated": "终止",
    },
    "transition_kind": {
        "created": "建档",
        "advance": "推进",
        "terminate": "终止",
        "correction": "更正",
    },
    "funding_source": {"foreign": "外资", "domestic": "内资"},
    "zone": {
        "binhai_new_area": "滨海新区",
        "international_land_port": "国际陆港",
        "dagu_river_belt": "大沽河生态产业带",
        "western_district": "西部城区",
        "sanlihe_downstream": "三里河下游综合功能区",
        "yinglan_tech_city": "英蓝国际金融服务外包科技城",
        "other": "其他",
    },
    "industry": {
        "advanced_manufacturing": "先进制造",
        "electronics": "电子信息",
        "new_materials": "新材料",
        "new_energy": "新能源",
        "automotive": "汽车及零部件",
        "biomedicine": "生物医药",
        "chemicals": "化工",
        "food_processing": "食品加工",
        "logistics": "现代物流",
        "finance": "金融",
        "modern_services": "现代服务业",
        "digital_economy": "数字经济",
        "tourism": "文化旅游",
        "agriculture": "现代农业",
        "infrastructure": "基础设施",
        "other": "其他",
    },
    "designation": {"city_key": "市重点项目", "key_preliminary": "重点前期项目"},
    "designation_status": {
        "candidate": "争取列入",
        "applied": "已申报",
        "granted": "已列入",
        "rejected": "未列入",
    },
    "unit_kind": {"department": "市直部门", "district": "区政府", "other": "其他"},
    "role": {
        "admin": "系统管理员",
        "bureau": "招商局",
        "leader": "市领导",
        "unit": "责任单位",
        "integration": "审批系统",
        "viewer": "只读",
    },
    "import_action": {"create": "新增", "update": "更新", "unchanged": "无变化"},
}

ENUMS: dict[str, type[StrEnum]] = {
    "stage": Stage,
    "transition_kind": TransitionKind,
    "funding_source": FundingSource,
    "zone": Zone,
    "industry": Industry,
    "designation": Designation,
    "designation_status": DesignationStatus,
    "unit_kind": UnitKind,
    "role": Role,
    "import_action": ImportAction,
}
