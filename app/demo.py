"""The deterministic demo data set: the city's 2022 investment plan, as a living pipeline.

The policy opinion of 2022-06-05 names six figures (see ``PLAN_FIGURES``); the demo holds
exactly those projects, in disjoint stage partitions, so each figure is one list filter:

    在谈项目         113 projects  stage=negotiating
    外资签约注册      42 projects  funding_source=foreign,  stage=signed|registered  US$3.26 billion
    内资签约落地      21 projects  funding_source=domestic, stage=signed|registered  ¥14.6 billion
    争取市重点项目    27 projects  designation=city_key (all in preliminary)        ¥38.3 billion
    争取重点前期项目   7 projects  designation=key_preliminary (all in preliminary) ¥10.4 billion
    在建项目         478 projects  stage=under_construction

plus 60 projects in production and 12 terminated ones, 12 city leaders and 30 responsible
units. The four figures with a total are also the year's targets (``PLAN_TARGETS``), each
listing its projects, so ``/stats/targets?year=2022`` reads the plan's table back; and
2022's monthly exchange rates (``DEMO_RATES``) convert the pipeline's totals to CNY.
Every project is created and moved through ``app.services.projects.projects``, so each has a real
stage history and audit trail; targets and rates go through their services too. All
business dates lie in 2019-01-01 .. 2022-11-30 (``DEMO_LAST_DATE``); nothing depends on
the wall clock. The caller commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from random import Random
from typing import Final, TypedDict, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.demo_progress import seed_progress
from app.errors import Conflict, InvalidInput
from app.models import AnnualPlan, AuditEvent, FollowUp, FollowUpLeader, Leader, Project, Unit
from app.models import Investor as InvestorRecord
from app.models.enums import (
    STAGE_ORDER,
    CodeReason,
    Designation,
    DesignationStatus,
    FollowUpKind,
    FundingSource,
    FundsSource,
    Industry,
    ReviewDecision,
    Stage,
    TargetMembership,
    UnitKind,
    Zone,
)
from app.models.exchange_rate import ExchangeRateCreate
from app.models.fields import Money
from app.models.progress import AnnualPlanUpdate, FundsArrived, ProgressReportCreate, ReviewCreate
from app.models.project import DesignationEntry, ProjectCreate, ProjectUpdate, TransitionCreate
from app.models.promotion import SigningEventCreate
from app.models.reference import (
    IndustryCreate,
    IndustryEntry,
    IndustryRead,
    IndustryUpdate,
    ZoneCreate,
    ZoneEntry,
    ZoneRead,
    ZoneUpdate,
)
from app.models.registry import LeaderRead, UnitRead
from app.models.target import TargetCreate
from app.services.access.permissions import Principal
from app.services.common import audit, versioning
from app.services.progress import plans
from app.services.progress import reports as progress_reports
from app.services.progress import review as progress_review
from app.services.progress import rules as report_rules
from app.services.projects import codes, exchange_rates, reference, targets
from app.services.projects.projects import (
    ProjectChange,
    ProjectFilters,
    change_projects,
    create_projects,
    designations_of,
    update_project,
)
from app.services.promotion import credit_code as credit_codes
from app.services.promotion import investors, signing_events

__all__ = [
    "DEMO_ACTOR",
    "DEMO_FIRST_DATE",
    "DEMO_LAST_DATE",
    "DEMO_RATES",
    "DEMO_SEED",
    "IN_PRODUCTION_COUNT",
    "LEADERS",
    "PLAN_FIGURES",
    "PLAN_TARGETS",
    "PLAN_YEAR",
    "TERMINATED_COUNT",
    "UNITS",
    "DemoSummary",
    "PlanFigure",
    "seed_demo",
]

DEMO_SEED: Final = 2022
DEMO_ACTOR: Final = "seed-demo"
PLAN_YEAR: Final = 2022
DEMO_FIRST_DATE: Final = date(2019, 1, 2)
DEMO_LAST_DATE: Final = date(2022, 11, 30)
IN_PRODUCTION_COUNT: Final = 60
TERMINATED_COUNT: Final = 12
DEMO_DUE_DAY: Final = 5  # PROGRESS_REPORT_DUE_DAY's default, as app/demo_progress.py files
FDI_CNY_RATE: Final = Decimal("6.7")  # the foreign capital arrived, in CNY, at about the year's rate

CENT = Decimal("0.01")


class PlanFigure(TypedDict):
    """One figure of the 2022 plan: how many projects, which list filter shows them, their total."""

    label: str
    count: int
    filter: dict[str, list[str]]
    total: tuple[str, str] | None  # (amount, currency), or None where the plan names no total


PLAN_FIGURES: Final[dict[str, PlanFigure]] = {
    "negotiating": {
        "label": "在谈项目", "count": 113,
        "filter": {"stage": ["negotiating"]}, "total": None,
    },
    "foreign_to_sign": {
        "label": "外资大项目签约注册", "count": 42,
        "filter": {"funding_source": ["foreign"], "stage": ["signed", "registered"]},
        "total": ("3260000000.00", "USD"),
    },
    "domestic_to_sign": {
        "label": "内资大项目签约落地", "count": 21,
        "filter": {"funding_source": ["domestic"], "stage": ["signed", "registered"]},
        "total": ("14600000000.00", "CNY"),
    },
    "city_key_candidates": {
        "label": "争取列入市重点项目", "count": 27,
        "filter": {"designation": ["city_key"], "designation_status": ["candidate"]},
        "total": ("38300000000.00", "CNY"),
    },
    "key_preliminary_candidates": {
        "label": "争取列入重点前期项目", "count": 7,
        "filter": {"designation": ["key_preliminary"], "designation_status": ["candidate"]},
        "total": ("10400000000.00", "CNY"),
    },
    "under_construction": {
        "label": "在建项目按期投产", "count": 478,
        "filter": {"stage": ["under_construction"]}, "total": None,
    },
}  # fmt: skip


class PlanTarget(TypedDict):
    """A figure of the plan set as a target of its year: the goal its projects must reach."""

    title: str
    description: str
    goal_stage: Stage | None
    goal_designation: Designation | None
    plan_rates: dict[str, str]


# The figures with a total are the year's targets; each lists the projects of its figure.
PLAN_TARGETS: Final[dict[str, PlanTarget]] = {
    "foreign_to_sign": {
        "title": "外资大项目签约注册", "goal_stage": Stage.registered, "goal_designation": None,
        "description": "加快推进日本电产等42个外资大项目、总投资32.6亿美元签约注册。",
        # The plan counts in US dollars; its own rate keeps the target's CNY view steady all year.
        "plan_rates": {"USD": "6.4"},
    },
    "domestic_to_sign": {
        "title": "内资大项目签约落地", "goal_stage": Stage.registered, "goal_designation": None,
        "description": "推动稀土电缆等21个内资大项目、总投资146亿元签约落地。", "plan_rates": {},
    },
    "city_key_candidates": {
        "title": "争取列入市重点项目", "goal_stage": None, "goal_designation": Designation.city_key,
        "description": "争取27个总投资383亿元的大项目列入市重点项目。", "plan_rates": {},
    },
    "key_preliminary_candidates": {
        "title": "争取列入重点前期项目", "goal_stage": None, "goal_designation": Designation.key_preliminary,
        "description": "争取7个总投资104亿元的大项目列入重点前期项目。", "plan_rates": {},
    },
}  # fmt: skip

# CNY for one unit, monthly through 2022 (plausible central-parity levels, not official data).
RATE_DATES: Final = tuple(date(2022, m, d) for m, d in (
    (1, 4), (2, 7), (3, 1), (4, 1), (5, 5), (6, 1), (7, 1), (8, 1), (9, 1), (10, 10), (11, 1), (12, 1)))
DEMO_RATES: Final[dict[str, tuple[str, ...]]] = {
    "USD": ("6.3794", "6.3580", "6.3222", "6.3509", "6.5672", "6.6651", "6.7114", "6.7437", "6.8906",
            "7.1046", "7.2197", "7.1225"),
    "EUR": ("7.2197", "7.2760", "7.0980", "7.0223", "6.9182", "7.1525", "7.0084", "6.8760", "6.9150",
            "6.9565", "7.1157", "7.4018"),
    "JPY": ("0.055378", "0.055333", "0.054994", "0.051864", "0.050526", "0.051637", "0.049400", "0.050678",
            "0.049590", "0.048822", "0.048589", "0.051925"),
    "HKD": ("0.81820", "0.81550", "0.80900", "0.81100", "0.83740", "0.84920", "0.85530", "0.85910", "0.87790",
            "0.90500", "0.91980", "0.91290"),
    "KRW": ("0.005340", "0.005290", "0.005215", "0.005220", "0.005190", "0.005170", "0.005165", "0.005180",
            "0.004995", "0.004950", "0.005080", "0.005460"),
}
RATE_SOURCE: Final = "演示数据：参考人民币汇率中间价"


@dataclass
class DemoSummary:
    """What ``seed_demo`` created; ``transitions`` counts the stage moves after creation."""

    leaders: int
    units: int
    projects: int
    transitions: int
    targets: int = 0
    exchange_rates: int = 0
    investors: int = 0
    follow_ups: int = 0
    signing_events: int = 0
    fdi_reports: int = 0
    annual_plans: int = 0
    progress_reports: int = 0
    reassigned: int = 0  # projects handed to another leader, dated back (REASSIGNED_ON)
    plans_revised: int = 0  # annual plans cut at mid-year, dated back (PLANS_REVISED_ON)


# --- the registry: city leaders and responsible units -----------------------------------

# Fictional names; titles as a city's leadership uses them.
LEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("陈立群", "市委副书记、市长"),
    ("刘建华", "市委副书记"),
    ("张宏伟", "市委常委、常务副市长"),
    ("李文博", "市委常委、副市长"),
    ("王海涛", "市委常委、滨海新区工委书记"),
    ("孙晓东", "市委常委、秘书长"),
    ("周建国", "副市长"),
    ("吴丽萍", "副市长"),
    ("郑国强", "副市长"),
    ("冯志远", "副市长、市公安局局长"),
    ("何晓燕", "市人大常委会副主任"),
    ("高振华", "市政协副主席"),
)

# (name, kind, contact)
UNITS: Final[tuple[tuple[str, UnitKind, str], ...]] = (
    ("市发展改革委", UnitKind.department, "重点项目科 赵科长"),
    ("市商务局", UnitKind.department, "外资管理科 钱科长"),
    ("市投资促进局", UnitKind.department, "项目推进科 孙科长"),
    ("市自然资源和规划局", UnitKind.department, "用地保障科 李科长"),
    ("市生态环境局", UnitKind.department, "环评审批科 周科长"),
    ("市住房城乡建设局", UnitKind.department, "建设管理科 吴科长"),
    ("市工业和信息化局", UnitKind.department, "投资与规划科 郑科长"),
    ("市科技局", UnitKind.department, "高新技术科 王科长"),
    ("市财政局", UnitKind.department, "经济建设科 冯科长"),
    ("市交通运输局", UnitKind.department, "综合规划科 陈科长"),
    ("市水务管理局", UnitKind.department, "规划建设科 褚科长"),
    ("市行政审批服务局", UnitKind.department, "投资项目审批科 卫科长"),
    ("市地方金融监管局", UnitKind.department, "金融发展科 蒋科长"),
    ("市国资委", UnitKind.department, "规划发展科 沈科长"),
    ("市农业农村局", UnitKind.department, "产业发展科 韩科长"),
    ("市文化和旅游局", UnitKind.department, "产业发展科 杨科长"),
    ("市卫生健康委", UnitKind.department, "规划发展科 朱科长"),
    ("市海洋发展局", UnitKind.department, "海洋经济科 秦科长"),
    ("西海岸新区管委", UnitKind.district, "投资促进中心 尤主任"),
    ("胶州市政府", UnitKind.district, "重点项目服务中心 许主任"),
    ("即墨区政府", UnitKind.district, "项目推进办 何主任"),
    ("城阳区政府", UnitKind.district, "项目推进办 吕主任"),
    ("平度市政府", UnitKind.district, "项目推进办 施主任"),
    ("莱西市政府", UnitKind.district, "项目推进办 张主任"),
    ("崂山区政府", UnitKind.district, "项目推进办 孔主任"),
    ("李沧区政府", UnitKind.district, "项目推进办 曹主任"),
    ("滨海新区管委", UnitKind.district, "招商服务中心 严主任"),
    ("国际陆港管委", UnitKind.district, "招商服务中心 华主任"),
    ("大沽河生态产业带管委", UnitKind.district, "规划建设部 金主任"),
    ("三里河街道办事处", UnitKind.district, "经济发展办 魏主任"),
)

ZONE_UNITS: Final[dict[Zone, tuple[str, ...]]] = {
    Zone.binhai_new_area: ("滨海新区管委", "西海岸新区管委"),
    Zone.international_land_port: ("国际陆港管委", "胶州市政府"),
    Zone.dagu_river_belt: ("大沽河生态产业带管委", "平度市政府", "莱西市政府"),
    Zone.western_district: ("胶州市政府", "城阳区政府"),
    Zone.sanlihe_downstream: ("三里河街道办事处", "胶州市政府"),
    Zone.yinglan_tech_city: ("崂山区政府", "李沧区政府"),
    Zone.other: ("即墨区政府", "城阳区政府", "平度市政府", "莱西市政府"),
}

INDUSTRY_UNITS: Final[dict[Industry, tuple[str, ...]]] = {
    Industry.advanced_manufacturing: ("市工业和信息化局",),
    Industry.electronics: ("市工业和信息化局", "市科技局"),
    Industry.new_materials: ("市工业和信息化局", "市科技局"),
    Industry.new_energy: ("市发展改革委", "市工业和信息化局"),
    Industry.automotive: ("市工业和信息化局",),
    Industry.biomedicine: ("市卫生健康委", "市科技局"),
    Industry.chemicals: ("市工业和信息化局", "市生态环境局"),
    Industry.food_processing: ("市农业农村局", "市海洋发展局"),
    Industry.logistics: ("市交通运输局", "市商务局"),
    Industry.finance: ("市地方金融监管局",),
    Industry.modern_services: ("市商务局",),
    Industry.digital_economy: ("市工业和信息化局", "市科技局"),
    Industry.tourism: ("市文化和旅游局",),
    Industry.agriculture: ("市农业农村局",),
    Industry.infrastructure: ("市住房城乡建设局", "市水务管理局", "市交通运输局", "市财政局", "市国资委"),
    Industry.other: ("市投资促进局",),
}

STAGE_UNITS: Final[dict[Stage, tuple[str, ...]]] = {
    Stage.negotiating: ("市投资促进局", "市商务局"),
    Stage.signed: ("市投资促进局", "市商务局"),
    Stage.registered: ("市行政审批服务局", "市商务局"),
    Stage.preliminary: ("市自然资源和规划局", "市生态环境局", "市行政审批服务局", "市发展改革委"),
    Stage.under_construction: ("市住房城乡建设局", "市发展改革委"),
    Stage.in_production: ("市工业和信息化局",),
    Stage.terminated: ("市投资促进局",),
}

# --- investors and project names --------------------------------------------------------

I = Industry  # noqa: E741  (short aliases for the tables below)
S = Stage

MANUFACTURING: Final = frozenset({I.advanced_manufacturing, I.automotive, I.electronics, I.new_materials,
                                  I.chemicals, I.new_energy})

# (full name, short name, ISO 3166 alpha-2, industries). Nidec is the one named by the plan;
# the others are fictional.
NIDEC: Final = ("日本电产株式会社", "日本电产", "JP", (I.automotive, I.electronics, I.advanced_manufacturing))
FOREIGN_INVESTORS: Final[tuple[tuple[str, str, str, tuple[Industry, ...]], ...]] = (
    NIDEC,
    ("东洋精工株式会社", "东洋精工", "JP", (I.advanced_manufacturing, I.automotive)),
    ("大和电机株式会社", "大和电机", "JP", (I.electronics, I.new_energy)),
    ("三和化成株式会社", "三和化成", "JP", (I.chemicals, I.new_materials)),
    ("北辰电子株式会社", "北辰电子", "JP", (I.electronics, I.digital_economy)),
    ("樱井制药株式会社", "樱井制药", "JP", (I.biomedicine,)),
    ("丸山食品株式会社", "丸山食品", "JP", (I.food_processing, I.agriculture)),
    ("韩国汉江精密株式会社", "汉江精密", "KR", (I.advanced_manufacturing, I.electronics)),
    ("韩国世宇化学株式会社", "世宇化学", "KR", (I.chemicals, I.new_materials)),
    ("韩国东明汽车部件株式会社", "东明汽车部件", "KR", (I.automotive,)),
    ("韩国永信食品株式会社", "永信食品", "KR", (I.food_processing,)),
    ("美国太平洋能源公司", "太平洋能源", "US", (I.new_energy,)),
    ("美国北极星生物科技公司", "北极星生物", "US", (I.biomedicine,)),
    ("美国蓝湾数据公司", "蓝湾数据", "US", (I.digital_economy, I.modern_services)),
    ("德国莱茵精密机械有限公司", "莱茵精密", "DE", (I.advanced_manufacturing,)),
    ("德国黑森林汽车技术有限公司", "黑森林汽车", "DE", (I.automotive, I.new_energy)),
    ("德国易北化工有限公司", "易北化工", "DE", (I.chemicals, I.new_materials)),
    ("法国罗纳生物医药集团", "罗纳生物", "FR", (I.biomedicine,)),
    ("法国卢瓦尔食品集团", "卢瓦尔食品", "FR", (I.food_processing, I.tourism)),
    ("意大利托斯卡纳机械公司", "托斯卡纳机械", "IT", (I.advanced_manufacturing,)),
    ("荷兰北海物流集团", "北海物流", "NL", (I.logistics,)),
    ("英国泰晤士金融服务集团", "泰晤士金融", "GB", (I.finance, I.modern_services)),
    ("新加坡南洋控股有限公司", "南洋控股", "SG", (I.modern_services, I.logistics, I.tourism)),
    ("新加坡狮城物流集团", "狮城物流", "SG", (I.logistics,)),
    ("香港维港投资集团有限公司", "维港投资", "HK", (I.modern_services, I.finance, I.infrastructure)),
    ("香港恒远实业集团有限公司", "恒远实业", "HK", (I.new_materials, I.food_processing, I.logistics)),
)
CABLE_PROJECT: Final = "稀土永磁电缆产业园项目"
CABLE_INVESTOR: Final = "山东鑫源稀土电缆集团有限公司"
COUNTRY_CURRENCY: Final[dict[str, str]] = {
    "JP": "JPY", "KR": "KRW", "DE": "EUR", "FR": "EUR", "IT": "EUR", "NL": "EUR",
    "HK": "HKD", "US": "USD", "GB": "USD", "SG": "USD",
}  # fmt: skip

DOMESTIC_PLACES: Final = ("青岛", "山东", "胶州", "北京", "上海", "深圳", "江苏", "浙江", "天津", "济南")
DOMESTIC_BRANDS: Final = (
    "瑞丰", "鼎盛", "宏远", "金海", "同创", "汇通", "博远", "泰和", "嘉诚", "鑫源", "海川", "天诚",
    "润达", "昌盛", "广源", "远航", "德润", "启明", "华晟", "中联信", "蓝海", "恒信", "正阳", "力拓源",
    "金诺", "融创远", "海晟", "万嘉", "开元", "中科睿", "东岳", "齐鲁恒", "琴岛", "北方华瑞", "新时达源",
    "福瑞", "兴业达", "永泰", "盛和", "明德",
)  # fmt: skip
COMPANY_KIND: Final[dict[Industry, str]] = {
    I.advanced_manufacturing: "智能装备", I.electronics: "电子科技", I.new_materials: "新材料科技",
    I.new_energy: "新能源", I.automotive: "汽车零部件", I.biomedicine: "生物医药", I.chemicals: "化工",
    I.food_processing: "食品", I.logistics: "供应链管理", I.finance: "金融控股", I.modern_services: "商业管理",
    I.digital_economy: "数字科技", I.tourism: "文化旅游发展", I.agriculture: "农业发展",
    I.infrastructure: "城市建设投资", I.other: "实业",
}  # fmt: skip
COMPANY_FORMS: Final = ("有限公司", "股份有限公司", "集团有限公司")

PRODUCTS: Final[dict[Industry, tuple[str, ...]]] = {
    I.advanced_manufacturing: ("高端数控机床", "工业机器人", "精密轴承", "智能农机装备", "轨道交通装备配套",
                               "高端液压件", "船舶配套设备", "智能装备制造基地"),
    I.electronics: ("集成电路封装测试", "新型显示模组", "智能终端制造", "半导体材料", "光电子器件",
                    "电子元器件", "5G通信模组"),
    I.new_materials: ("稀土永磁材料", "高性能碳纤维", "特种钢材深加工", "石墨烯材料", "高分子复合材料",
                      "电子级化学材料", "新型建材"),
    I.new_energy: ("分布式光伏发电", "风电装备制造", "动力电池", "氢能装备产业园", "储能电站",
                   "生物质热电联产"),
    I.automotive: ("新能源汽车驱动电机", "汽车零部件", "新能源商用车", "汽车线束", "智能网联汽车电子",
                   "汽车轻量化部件"),
    I.biomedicine: ("生物医药产业园", "高端医疗器械", "创新药研发生产基地", "中药配方颗粒",
                    "生物制品", "体外诊断试剂"),
    I.chemicals: ("精细化工", "高端润滑油", "水性涂料", "橡胶助剂", "化工新材料"),
    I.food_processing: ("食品加工", "冷链食品", "海洋食品精深加工", "中央厨房", "乳制品加工", "啤酒酿造"),
    I.logistics: ("国际物流园", "冷链物流中心", "多式联运中心", "跨境电商产业园", "智慧仓储", "保税物流中心"),
    I.finance: ("金融服务外包基地", "金融科技中心", "财富管理中心", "供应链金融服务平台"),
    I.modern_services: ("总部经济大厦", "商业综合体", "服务外包园区", "检验检测中心", "会展中心"),
    I.digital_economy: ("大数据中心", "云计算中心", "工业互联网平台", "软件产业园", "人工智能产业园"),
    I.tourism: ("文化旅游综合体", "滨海度假区", "生态旅游区", "温泉度假村", "影视文化产业园"),
    I.agriculture: ("现代农业产业园", "智慧农业示范园", "种业创新基地", "高效设施农业"),
    I.infrastructure: ("污水处理厂", "城市综合管廊", "热电联产", "道路及配套设施", "城市更新", "港口码头"),
    I.other: ("健康养老社区", "教育产业园", "城市综合开发"),
}
NAME_ENDINGS: Final = ("项目", "项目", "项目", "二期项目", "扩建项目")

INDUSTRY_WEIGHTS: Final[dict[Industry, int]] = {
    I.advanced_manufacturing: 12, I.electronics: 9, I.new_materials: 8, I.new_energy: 8, I.automotive: 9,
    I.biomedicine: 7, I.chemicals: 4, I.food_processing: 6, I.logistics: 7, I.finance: 2,
    I.modern_services: 6, I.digital_economy: 5, I.tourism: 4, I.agriculture: 4, I.infrastructure: 7,
    I.other: 2,
}  # fmt: skip
ZONE_WEIGHTS: Final[dict[Zone, int]] = {
    Zone.binhai_new_area: 22, Zone.international_land_port: 15, Zone.dagu_river_belt: 14,
    Zone.western_district: 13, Zone.sanlihe_downstream: 10, Zone.yinglan_tech_city: 10, Zone.other: 16,
}  # fmt: skip
PREFERRED_ZONES: Final[dict[Industry, tuple[Zone, ...]]] = {
    I.logistics: (Zone.international_land_port,),
    I.finance: (Zone.yinglan_tech_city,),
    I.digital_economy: (Zone.yinglan_tech_city,),
    I.modern_services: (Zone.yinglan_tech_city, Zone.western_district, Zone.sanlihe_downstream),
    I.tourism: (Zone.dagu_river_belt, Zone.sanlihe_downstream),
    I.agriculture: (Zone.dagu_river_belt,),
    I.food_processing: (Zone.dagu_river_belt, Zone.international_land_port),
    I.infrastructure: (Zone.western_district, Zone.sanlihe_downstream, Zone.other),
}

# National project code parts: region (county-level division), GB/T 4754 industry division.
ZONE_REGIONS: Final[dict[Zone, tuple[str, ...]]] = {
    Zone.binhai_new_area: ("370211",),
    Zone.international_land_port: ("370281",),
    Zone.dagu_river_belt: ("370281", "370283", "370285"),
    Zone.western_district: ("370281",),
    Zone.sanlihe_downstream: ("370281",),
    Zone.yinglan_tech_city: ("370212", "370213"),
    Zone.other: ("370214", "370215", "370283", "370285"),
}
INDUSTRY_DIVISIONS: Final[dict[Industry, str]] = {
    I.advanced_manufacturing: "34", I.electronics: "39", I.new_materials: "32", I.new_energy: "44",
    I.automotive: "36", I.biomedicine: "27", I.chemicals: "26", I.food_processing: "13", I.logistics: "59",
    I.finance: "72", I.modern_services: "72", I.digital_economy: "65", I.tourism: "78",
    I.agriculture: "01", I.infrastructure: "48", I.other: "47",
}  # fmt: skip

# (low, high, step) of a plausible total investment, in whole units of each currency.
AMOUNT_RANGES: Final[dict[str, tuple[int, int, int]]] = {
    "CNY": (30_000_000, 3_000_000_000, 10_000),
    "USD": (10_000_000, 300_000_000, 10_000),
    "EUR": (8_000_000, 250_000_000, 10_000),
    "JPY": (1_000_000_000, 40_000_000_000, 1_000_000),
    "KRW": (10_000_000_000, 400_000_000_000, 10_000_000),
    "HKD": (80_000_000, 2_000_000_000, 10_000),
}

MOVE_NOTES: Final[dict[Stage, str]] = {
    Stage.signed: "双方正式签订投资协议",
    Stage.registered: "项目公司完成注册登记",
    Stage.preliminary: "启动立项、用地、规划、环评等前期手续",
    Stage.under_construction: "取得施工许可，项目开工建设",
    Stage.in_production: "项目竣工验收，正式投产",
}
TERMINATION_REASONS: Final = (
    "投资方全球战略调整，决定不再在本市投资",
    "受市场环境影响，投资方暂缓投资并退出",
    "项目选址与国土空间规划不符，经双方协商终止",
    "项目能耗指标无法落实，经研究终止推进",
    "投资方资金链紧张，无法履行投资协议",
    "产品技术路线调整，投资方另行选址",
)


# --- generation ---------------------------------------------------------------------------

T = TypeVar("T")
Party = tuple[str, str, str, Industry, Zone]  # project name, investor, country, industry, zone
Investor = tuple[str, str, str, tuple[Industry, ...]]

# The forward path from negotiating to each stage of the lifecycle.
PATHS: Final[dict[Stage, tuple[Stage, ...]]] = {s: STAGE_ORDER[: i + 1] for i, s in enumerate(STAGE_ORDER)}


@dataclass
class _Spec:
    """One demo project: what to create and how to move it."""

    funding: FundingSource
    party: Party
    amount: Decimal
    currency: str
    path: list[Stage]  # the stage it is created in, then each stage it moves to
    dates: list[date]  # one per entry of ``path``, increasing
    designation: Designation | None = None
    reason: str | None = None
    code: str | None = None
    code_on: date | None = None  # when the code was issued
    leader: int = 0  # index into LEADERS
    unit: str = ""  # a name from UNITS
    planned: tuple[date | None, date | None, date | None] = (None, None, None)

    @property
    def industry(self) -> Industry:
        return self.party[3]

    @property
    def zone(self) -> Zone:
        return self.party[4]


def _weighted(rng: Random, weights: dict[T, int]) -> T:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _units_in(rng: Random, lo: int, hi: int) -> int:
    """An integer in [lo, hi], roughly log-uniform: a doubling bucket, then uniform within it."""
    edges = [lo]
    while edges[-1] * 2 < hi:
        edges.append(edges[-1] * 2)
    edges.append(hi)
    i = rng.randrange(len(edges) - 1)
    return rng.randint(edges[i], edges[i + 1])


def _amount(rng: Random, currency: str, *, lo: int | None = None, hi: int | None = None) -> Decimal:
    """A plausible total investment in ``currency``, a round number of its ``step``."""
    default_lo, default_hi, step = AMOUNT_RANGES[currency]
    units = _units_in(rng, -(-(lo or default_lo) // step), (hi or default_hi) // step)
    return Decimal(units * step).quantize(CENT)


def _amounts_summing(rng: Random, n: int, total: Decimal, *, lo: int, hi: int, step: int) -> list[Decimal]:
    """``n`` plausible amounts in [lo, hi], multiples of ``step``, that add up to ``total`` exactly."""
    target, rest = divmod(int(total), step)
    lo_u, hi_u = -(-lo // step), hi // step
    if rest or total != int(total) or not n * lo_u <= target <= n * hi_u:
        raise ValueError(f"cannot split {total} into {n} amounts in [{lo}, {hi}] by {step}")
    # Scale what each draw has above the floor, so that no amount is pushed onto a bound.
    excess = [_units_in(rng, lo_u, hi_u) - lo_u for _ in range(n)]
    wanted, drawn = target - n * lo_u, sum(excess) or 1
    units = [min(hi_u, lo_u + e * wanted // drawn) for e in excess]
    diff = target - sum(units)
    while diff:  # spread the rounding and clamping difference, staying within the bounds
        order = list(range(n))
        rng.shuffle(order)
        for i in order:
            room = hi_u - units[i] if diff > 0 else units[i] - lo_u
            change = min(abs(diff), room, max(1, abs(diff) // 2))
            if diff < 0:
                change = -change
            units[i] += change
            diff -= change
            if not diff:
                break
    return [Decimal(u * step).quantize(CENT) for u in units]


def _dates(rng: Random, count: int, lo: date, hi: date, *, min_gap: int) -> list[date]:
    """``count`` increasing dates in [lo, hi], at least ``min_gap`` days apart."""
    free = (hi - lo).days - min_gap * (count - 1)
    offsets = sorted(rng.sample(range(free + 1), count))
    return [lo + timedelta(days=o + min_gap * i) for i, o in enumerate(offsets)]


def _days(d: date, n: int) -> date:
    return d + timedelta(days=n)


def _path(final: Stage, moves: int) -> list[Stage]:
    """The last ``moves + 1`` stages of the forward path to ``final``."""
    return list(PATHS[final][-(moves + 1):])


class _Maker:
    """Draws the parties, names and places of projects, keeping project names unique."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.names: set[str] = set()

    def zone_for(self, industry: Industry) -> Zone:
        preferred = PREFERRED_ZONES.get(industry)
        if preferred and self.rng.random() < 0.65:
            return self.rng.choice(preferred)
        if industry in MANUFACTURING and self.rng.random() < 0.5:
            return self.rng.choice((Zone.binhai_new_area, Zone.international_land_port, Zone.western_district))
        return _weighted(self.rng, ZONE_WEIGHTS)

    def name(self, short: str, industry: Industry, product: str | None = None) -> str:
        for _ in range(20):
            candidate = short + (product or self.rng.choice(PRODUCTS[industry])) + self.rng.choice(NAME_ENDINGS)
            if candidate not in self.names:
                break
        else:
            n = 3
            while (candidate := f"{short}{product or PRODUCTS[industry][0]}{n}期项目") in self.names:
                n += 1
        self.names.add(candidate)
        return candidate

    def foreign(self, investor: Investor | None = None, *, currency: str | None = None) -> Party:
        """A foreign-funded project's party; with ``currency``, an investor whose home currency it is."""
        if investor is None:
            pool = [inv for inv in FOREIGN_INVESTORS[1:]
                    if currency in (None, "USD") or COUNTRY_CURRENCY[inv[2]] == currency]
            # Japanese and Korean investors are the city's largest sources of foreign capital.
            investor = self.rng.choices(pool, weights=[3 if inv[2] in ("JP", "KR") else 2 for inv in pool])[0]
        _, short, country, industries = investor
        industry = self.rng.choice(industries)
        return self.name(short, industry), investor[0], country, industry, self.zone_for(industry)

    def domestic(self, industry: Industry | None = None) -> Party:
        industry = industry or _weighted(self.rng, INDUSTRY_WEIGHTS)
        # One brand is one company group: the same place and legal form wherever it invests.
        b = self.rng.randrange(len(DOMESTIC_BRANDS))
        brand = DOMESTIC_BRANDS[b]
        investor = (DOMESTIC_PLACES[b % len(DOMESTIC_PLACES)] + brand + COMPANY_KIND[industry]
                    + COMPANY_FORMS[b % len(COMPANY_FORMS)])
        return self.name(brand, industry), investor, "CN", industry, self.zone_for(industry)

    def party(self, foreign_share: float) -> tuple[FundingSource, Party]:
        if self.rng.random() < foreign_share:
            return FundingSource.foreign, self.foreign()
        return FundingSource.domestic, self.domestic()

    def foreign_currency(self, country: str, usd_share: float = 0.35) -> str:
        return "USD" if self.rng.random() < usd_share else COUNTRY_CURRENCY[country]


def _build(rng: Random) -> list[_Spec]:
    """Every demo project, without ids: the plan's partitions and the rest of the pipeline."""
    maker = _Maker(rng)
    specs: list[_Spec] = []

    # 在谈: 113 projects under negotiation, mixed funding and currencies, no designations.
    first_currencies = ("JPY", "KRW", "EUR", "HKD", "USD")  # each foreign currency at least once
    for i in range(PLAN_FIGURES["negotiating"]["count"]):
        if i < len(first_currencies):
            funding, currency = FundingSource.foreign, first_currencies[i]
            party = maker.foreign(currency=currency)
        elif rng.random() < 0.45:
            funding, party = FundingSource.foreign, maker.foreign()
            currency = maker.foreign_currency(party[2])
        else:
            funding, party, currency = FundingSource.domestic, maker.domestic(), "CNY"
        talks_from = date(2021, 1, 4)
        opened = _days(talks_from, rng.randint(0, (DEMO_LAST_DATE - talks_from).days))
        specs.append(_Spec(funding, party, _amount(rng, currency), currency, [S.negotiating], [opened]))

    # Signing projects: talks opened in 2020-2021, signed (and registered) in 2022.
    def to_sign(funding: FundingSource, party: Party, amount: Decimal, currency: str, final: Stage) -> _Spec:
        path = list(PATHS[final])
        created = _days(date(2020, 6, 1), rng.randint(0, 570))
        dates = [created, *_dates(rng, len(path) - 1, date(2022, 1, 4), DEMO_LAST_DATE, min_gap=30)]
        return _Spec(funding, party, amount, currency, path, dates)

    # 外资签约注册: 42 foreign projects, US$3.26 billion, led by Nidec; 29 signed, 13 registered.
    nidec_amount = Decimal("500000000.00")
    amounts = _amounts_summing(rng, 41, Decimal(3_260_000_000) - nidec_amount,
                               lo=20_000_000, hi=300_000_000, step=10_000)
    nidec = (maker.name("日本电产", I.automotive, "新能源汽车驱动电机"), NIDEC[0], NIDEC[2], I.automotive,
             Zone.binhai_new_area)
    specs.append(to_sign(FundingSource.foreign, nidec, nidec_amount, "USD", S.registered))
    for i, amount in enumerate(amounts):
        final = S.signed if i < 29 else S.registered
        specs.append(to_sign(FundingSource.foreign, maker.foreign(), amount, "USD", final))

    # 内资签约落地: 21 domestic projects, ¥14.6 billion, led by the rare-earth cable project;
    # 14 signed, 7 registered (landed).
    cable_amount = Decimal("2000000000.00")
    amounts = _amounts_summing(rng, 20, Decimal(14_600_000_000) - cable_amount,
                               lo=150_000_000, hi=1_500_000_000, step=10_000)
    maker.names.add(CABLE_PROJECT)
    cable = (CABLE_PROJECT, CABLE_INVESTOR, "CN", I.new_materials, Zone.international_land_port)
    specs.append(to_sign(FundingSource.domestic, cable, cable_amount, "CNY", S.registered))
    for i, amount in enumerate(amounts):
        final = S.signed if i < 14 else S.registered
        specs.append(to_sign(FundingSource.domestic, maker.domestic(), amount, "CNY", final))

    # 争取市重点项目 / 重点前期项目: candidates in preliminary, CNY, exact totals.
    for key, designation, lo, hi in (
        ("city_key_candidates", Designation.city_key, 300_000_000, 5_000_000_000),
        ("key_preliminary_candidates", Designation.key_preliminary, 500_000_000, 3_000_000_000),
    ):
        figure = PLAN_FIGURES[key]
        assert figure["total"] is not None
        for amount in _amounts_summing(rng, figure["count"], Decimal(figure["total"][0]), lo=lo, hi=hi,
                                       step=10_000):
            funding, party = maker.party(0.15)
            path = _path(S.preliminary, rng.choices((0, 1, 2, 3), weights=(1, 3, 3, 3))[0])
            dates = _dates(rng, len(path), date(2019, 6, 3), DEMO_LAST_DATE, min_gap=45)
            specs.append(_Spec(funding, party, amount, "CNY", path, dates, designation=designation))

    # 在建: 478 projects under construction, CNY mostly; many imported mid-life (台账导入),
    # the others moved up from an earlier stage.
    for _ in range(PLAN_FIGURES["under_construction"]["count"]):
        funding, party = maker.party(0.2)
        if funding == FundingSource.foreign and rng.random() < 0.7:
            currency, amount = "USD", _amount(rng, "USD")
        else:
            currency, amount = "CNY", _amount(rng, "CNY", lo=20_000_000, hi=5_000_000_000)
        path = _path(S.under_construction, rng.choices((0, 1, 2, 3, 4), weights=(35, 25, 15, 10, 15))[0])
        dates = _dates(rng, len(path), DEMO_FIRST_DATE, DEMO_LAST_DATE, min_gap=30)
        specs.append(_Spec(funding, party, amount, currency, path, dates))

    # 投产: in production.
    for _ in range(IN_PRODUCTION_COUNT):
        funding, party = maker.party(0.25)
        currency = "USD" if funding == FundingSource.foreign and rng.random() < 0.7 else "CNY"
        path = _path(S.in_production, rng.choices((1, 2, 3), weights=(40, 35, 25))[0])
        dates = _dates(rng, len(path), DEMO_FIRST_DATE, DEMO_LAST_DATE, min_gap=60)
        specs.append(_Spec(funding, party, _amount(rng, currency), currency, path, dates))

    # 终止: dropped during talks or after signing, each with its reason.
    for i in range(TERMINATED_COUNT):
        funding, party = maker.party(0.4)
        currency = maker.foreign_currency(party[2]) if funding == FundingSource.foreign else "CNY"
        path = [S.negotiating, S.signed, S.terminated] if i % 3 == 0 else [S.negotiating, S.terminated]
        dates = _dates(rng, len(path), date(2019, 6, 3), DEMO_LAST_DATE, min_gap=60)
        specs.append(_Spec(funding, party, _amount(rng, currency), currency, path, dates,
                           reason=rng.choice(TERMINATION_REASONS)))

    _assign(rng, specs)
    rng.shuffle(specs)
    return specs


def _entered(spec: _Spec, stage: Stage) -> date | None:
    """When the spec's history enters ``stage``; None if it never does."""
    return spec.dates[spec.path.index(stage)] if stage in spec.path else None


def _planned(rng: Random, spec: _Spec) -> tuple[date | None, date | None, date | None]:
    """Planned sign, start and production dates, in order and consistent with the history."""
    final, created = spec.path[-1], spec.dates[0]
    if final == S.negotiating:
        sign = _days(max(date(2022, 9, 1), _days(created, 60)), rng.randint(0, 480))
        if rng.random() < 0.15:
            return sign, None, None
        start = _days(sign, rng.randint(60, 300))
        return sign, start, _days(start, rng.randint(300, 900))
    if final == S.terminated:
        return _days(created, rng.randint(60, 300)), None, None
    if final in (S.signed, S.registered):
        signed = _entered(spec, S.signed) or created
        sign = _days(signed, rng.randint(-60, 30))
        start = _days(max(signed, sign), rng.randint(120, 400))
        return sign, start, _days(start, rng.randint(365, 800))
    if final == S.preliminary:
        signed_on = _entered(spec, S.signed)
        sign = (max(created, _days(signed_on, -rng.randint(0, 120))) if signed_on
                else _days(created, -rng.randint(0, 200)))
        start = max(sign, _days(date(2022, 10, 1), rng.randint(0, 450)))
        return sign, start, _days(start, rng.randint(365, 900))
    if final == S.under_construction:
        began = spec.dates[-1]
        earliest = max(date(2022, 1, 1), _days(began, 120))
        production = _days(earliest, rng.randint(0, (date(2024, 12, 31) - earliest).days))
        start = min(_days(began, rng.randint(-45, 20)), production)
        return _days(start, -rng.randint(90, 400)), start, production
    produced = spec.dates[-1]  # in production
    production = _days(produced, rng.randint(-90, 60))
    start = _days(production, -rng.randint(365, 800))
    return _days(start, -rng.randint(60, 300)), start, production


def _assign(rng: Random, specs: Sequence[_Spec]) -> None:
    """Leaders, units, planned dates and national project codes."""
    for spec in specs:
        spec.leader = rng.randrange(len(LEADERS))
        pool = ZONE_UNITS[spec.zone] + INDUSTRY_UNITS[spec.industry] + STAGE_UNITS[spec.path[-1]]
        spec.unit = rng.choice(pool)
        spec.planned = _planned(rng, spec)
    # A project code is issued when a project is filed or approved (立项), in its preliminary
    # work: about a third of all projects, drawn from those that reached preliminary.
    eligible = [s for s in specs if s.path[-1] in (S.preliminary, S.under_construction, S.in_production)]
    chosen = rng.sample(eligible, round(len(specs) / 3))
    serials = rng.sample(range(1, 1_000_000), len(chosen))
    taken: set[str] = set()
    for spec, serial in zip(chosen, serials, strict=True):
        issued = spec.code_on = _entered(spec, S.preliminary) or spec.dates[0]
        kind = "01" if spec.industry == I.infrastructure else rng.choice(("02", "03", "03", "03"))
        region = rng.choice(ZONE_REGIONS[spec.zone])
        middle = f"{region}-{INDUSTRY_DIVISIONS[spec.industry]}-{kind}"
        if (issued.year, issued.month) < codes.FIRST_NEW_DATE:  # old rules: the year, six serial digits
            spec.code = f"{issued.year}-{middle}-{serial:06d}"
        else:  # the 2020 rules: year and month, five random digits and the check digit
            five = serial % 100_000
            while (stem := f"{issued.year % 100:02d}{issued.month:02d}-{middle}-{five:05d}") in taken:
                five = (five + 1) % 100_000
            taken.add(stem)
            spec.code = codes.with_check_digit(stem)


# --- seeding ------------------------------------------------------------------------------


async def seed_demo(session: AsyncSession, *, today: date) -> DemoSummary:
    """Load the demo data set into an empty registry (the caller commits).

    409 ``database_not_empty`` if any project exists, or a unit with a demo unit's name.
    ``today`` is only the service's "not in the future" check: it must not be before
    ``DEMO_LAST_DATE``; the data set itself is the same whatever the day.
    """
    if (await session.execute(select(col(Project.id)).limit(1))).first() is not None:
        raise Conflict("The database already holds projects; the demo data set loads only into an empty one.",
                       code="database_not_empty")
    unit_names = [name for name, _, _ in UNITS]
    taken = (await session.execute(select(col(Unit.name)).where(col(Unit.name).in_(unit_names)))).scalars().first()
    if taken is not None:
        raise Conflict(f"A unit named {taken} already exists; the demo data set loads only into an empty "
                       "database.", code="database_not_empty")
    if today < DEMO_LAST_DATE:
        raise InvalidInput.field("today", f"must not be before {DEMO_LAST_DATE}, the demo's last business date")

    actor = Principal.operator(DEMO_ACTOR)
    rng = Random(DEMO_SEED)

    leader_ids: list[int] = []
    for name, title in LEADERS:
        leader = Leader(name=name, title=title)
        session.add(leader)
        await session.flush()
        assert leader.id is not None
        leader_ids.append(leader.id)
        await audit.record(session, actor, action="leader.create", resource_type="leader", resource_id=leader.id,
                           after=LeaderRead.model_validate(leader, from_attributes=True)
                           .model_dump(mode="json", exclude={"updated_at"}))
    unit_ids: dict[str, int] = {}
    for name, kind, contact in UNITS:
        unit = Unit(name=name, kind=kind, contact=contact)
        session.add(unit)
        await session.flush()
        assert unit.id is not None
        unit_ids[name] = unit.id
        await audit.record(session, actor, action="unit.create", resource_type="unit", resource_id=unit.id,
                           after=UnitRead.model_validate(unit, from_attributes=True)
                           .model_dump(mode="json", exclude={"updated_at"}))

    await _seed_reference(session, actor)
    specs = _build(rng)
    promo = Random(DEMO_SEED + 18)  # its own stream: the projects stay as they were before investors
    investors = await _seed_investors(session, actor, specs, promo)
    events = await _seed_signing_events(session, actor)
    items: list[ProjectCreate] = []
    for spec in specs:
        sign, start, production = spec.planned
        designations = ([DesignationEntry(designation=spec.designation, status=DesignationStatus.candidate,
                                          year=PLAN_YEAR)] if spec.designation else [])
        name, investor, country, industry, zone = spec.party
        items.append(ProjectCreate(
            code=spec.code, code_on=spec.code_on, name=name, investor=investor, investor_country=country,
            funding_source=spec.funding, industry=industry, zone=zone,
            total_investment=Money(amount=spec.amount, currency=spec.currency),
            leader_id=leader_ids[spec.leader], unit_id=unit_ids[spec.unit],
            planned_sign_on=sign, planned_start_on=start, planned_production_on=production,
            designations=designations, stage=spec.path[0], stage_entered_on=spec.dates[0],
            note="演示数据：项目建档" if spec.path[0] == S.negotiating else "演示数据：台账导入",
            contracted_fdi=_contracted_fdi(promo, spec),
        ))
    # Through the registry's batch paths, as a ledger import writes: the same rules, history and
    # audit as one request per project and per move, in a few statements for them all.
    created = await create_projects(session, items=items, actor=actor, today=today)
    made = [(spec, read.id) for spec, read in zip(specs, created, strict=True)]
    designations_of_made = await designations_of(session, [read.id for read in created])
    changes: list[ProjectChange] = []
    for spec, read in zip(specs, created, strict=True):
        moves = [TransitionCreate(to=to, occurred_on=occurred_on,
                                  note="项目终止" if to == S.terminated else MOVE_NOTES[to],
                                  reason=spec.reason if to == S.terminated else None,
                                  signing_event_id=_event_of(events, occurred_on) if to == S.signed else None)
                 for to, occurred_on in zip(spec.path[1:], spec.dates[1:], strict=True)]
        if moves:
            project = await session.get(Project, read.id)
            assert project is not None
            changes.append(ProjectChange(project, designations_of_made[read.id], moves=moves))
    await change_projects(session, actor, items=changes, today=today)
    projects, moves_made = len(created), sum(len(change.moves) for change in changes)
    follow_ups = await _seed_follow_ups(session, actor, made, leader_ids, promo)
    fdi_reports = await _seed_fdi_reports(session, actor, made, promo)
    await _re_approve_one(session, actor, today=today)
    reassigned = await _reassign_some(session, actor, leader_ids, today=today)
    rates = await _seed_rates(session, actor)
    plan_targets = await _seed_targets(session, actor)
    progress = await seed_progress(session, actor_name=DEMO_ACTOR, last_date=DEMO_LAST_DATE)
    plans_revised = await _revise_some_plans(session, actor, today=today)
    if session.get_bind().dialect.name == "postgresql":
        # A bulk load leaves the tables without statistics until autovacuum comes by; meanwhile
        # the planner takes each for one row and re-aggregates the monthly reports once per
        # project (/stats/investment on the demo: 1,400 ms; 7 ms once analysed). ANALYZE counts
        # this transaction's own rows.
        await session.execute(text("ANALYZE"))
    return DemoSummary(leaders=len(leader_ids), units=len(unit_ids), projects=projects, transitions=moves_made,
                       targets=plan_targets, exchange_rates=rates, investors=investors, follow_ups=follow_ups,
                       signing_events=len(events), fdi_reports=fdi_reports, annual_plans=progress.annual_plans,
                       progress_reports=progress.progress_reports, reassigned=reassigned,
                       plans_revised=plans_revised)


# --- investment promotion: investors, signing events, follow-ups, FDI -----------------------

# Fictional, like the demo's other investors; flagged Fortune Global 500 (世界500强) with a group.
FORTUNE_GLOBAL_500: Final[dict[str, str]] = {
    "德国黑森林汽车技术有限公司": "黑森林汽车集团",
    "美国太平洋能源公司": "太平洋能源集团",
    "韩国世宇化学株式会社": "世宇集团",
    "英国泰晤士金融服务集团": "泰晤士金融集团",
}
SIGNING_EVENTS: Final[tuple[tuple[str, date, str, Zone | None], ...]] = (
    ("2022青岛日韩投资合作推介会", date(2022, 3, 18), "市投资促进局", None),
    ("2022跨国公司领导人青岛峰会重点项目集中签约", date(2022, 6, 16), "市商务局", Zone.binhai_new_area),
    ("2022中国（青岛）国际投资贸易洽谈周", date(2022, 9, 8), "市投资促进局", Zone.international_land_port),
)
EVENT_WINDOW_DAYS: Final = 21  # a signing this many days after an event is the event's
FOLLOW_UP_KINDS: Final = (FollowUpKind.visit, FollowUpKind.meeting, FollowUpKind.call, FollowUpKind.video_call,
                          FollowUpKind.inspection)
FOLLOW_UP_SUMMARIES: Final[dict[FollowUpKind, str]] = {
    FollowUpKind.visit: "上门走访投资方，介绍园区配套和支持政策",
    FollowUpKind.meeting: "与投资方高层会谈，就投资规模和选址交换意见",
    FollowUpKind.call: "电话沟通项目进展，了解投资方决策流程",
    FollowUpKind.video_call: "视频会谈，对接投资协议主要条款",
    FollowUpKind.inspection: "陪同投资方考察备选地块和产业链配套企业",
}
NEXT_STEPS: Final = ("报送投资协议草案", "协调落实用地指标", "安排市领导会见", "提供项目选址方案", "组织专班对接需求")


def credit_code(rng: Random) -> str:
    """A valid-looking unified social credit code for a Qingdao company (法人, 企业; 370200)."""
    body = "91370200" + "".join(rng.choice(credit_codes.ALPHABET) for _ in range(9))
    return body + credit_codes.check_character(body)


async def _seed_investors(session: AsyncSession, actor: Principal, specs: Sequence[_Spec], rng: Random) -> int:
    """Every demo project's investor, in one insert: Chinese ones with credit codes, a few
    flagged Fortune Global 500. The projects then find them by name and country."""
    seen: dict[tuple[str, str], None] = {}
    for spec in specs:
        seen.setdefault((spec.party[1], spec.party[2]), None)
    rows = [InvestorRecord(name=name, country=country, credit_code=credit_code(rng) if country == "CN" else None,
                     fortune_global_500=name in FORTUNE_GLOBAL_500, group_name=FORTUNE_GLOBAL_500.get(name))
            for name, country in seen]
    session.add_all(rows)
    await session.flush()
    session.add_all([audit_event(actor, "investor.create", "investor", r.id or 0,
                                 investors.to_read(r).model_dump(mode="json", exclude={"updated_at"}))
                     for r in rows])
    return len(rows)


def audit_event(actor: Principal, action: str, resource_type: str, resource_id: int,
                after: dict[str, object]) -> AuditEvent:
    return AuditEvent(actor_key_id=actor.key_id, actor_name=actor.name, action=action,
                      resource_type=resource_type, resource_id=str(resource_id), after=after)


async def _seed_signing_events(session: AsyncSession, actor: Principal) -> list[tuple[date, int]]:
    out = []
    for name, held_on, organiser, zone in SIGNING_EVENTS:
        event = await signing_events.create(session, actor=actor, data=SigningEventCreate(
            name=name, held_on=held_on, organiser=organiser, zone=zone))
        out.append((held_on, event.id))
    return out


def _event_of(events: Sequence[tuple[date, int]], signed_on: date) -> int | None:
    for held_on, event_id in reversed(events):
        if held_on <= signed_on <= held_on + timedelta(days=EVENT_WINDOW_DAYS):
            return event_id
    return None


def _contracted_fdi(rng: Random, spec: _Spec) -> Money | None:
    """合同外资 of the foreign projects to sign and register: half to most of their total."""
    if spec.funding != FundingSource.foreign or spec.path[-1] not in (S.signed, S.registered):
        return None
    assert spec.currency == "USD"
    share = Decimal(rng.randint(50, 85)) / 100
    return Money(amount=(spec.amount * share).quantize(Decimal("10000")), currency="USD")


async def _seed_follow_ups(session: AsyncSession, actor: Principal, made: Sequence[tuple[_Spec, int]],
                           leader_ids: Sequence[int], rng: Random) -> int:
    """One to three entries for each negotiating project, in one insert: some with their
    leader present, the latest next contact of about a third passed by DEMO_LAST_DATE."""
    entries: list[tuple[FollowUp, int | None]] = []
    for spec, project_id in made:
        if spec.path[-1] != S.negotiating:
            continue
        first = max(spec.dates[0], date(PLAN_YEAR, 1, 4))
        count = rng.randint(1, 3)
        days = sorted(rng.sample(range(max((DEMO_LAST_DATE - first).days, count)), count))
        for i, offset in enumerate(days):
            on = min(first + timedelta(days=offset), DEMO_LAST_DATE)
            kind = rng.choice(FOLLOW_UP_KINDS)
            last = i == len(days) - 1
            if last:
                overdue = rng.random() < 0.35
                next_on = (on + timedelta(days=rng.randint(7, 30)) if overdue
                           else DEMO_LAST_DATE + timedelta(days=rng.randint(1, 31)))
                next_on = min(next_on, DEMO_LAST_DATE - timedelta(days=1)) if overdue else next_on
                next_on = max(next_on, on)
            else:
                next_on = on + timedelta(days=rng.randint(7, 30))
            leader = leader_ids[spec.leader] if kind in (FollowUpKind.meeting, FollowUpKind.inspection) \
                and rng.random() < 0.6 else None
            entries.append((FollowUp(project_id=project_id, occurred_on=on, kind=kind,
                                     participants="市投资促进局项目专班；投资方代表",
                                     summary=FOLLOW_UP_SUMMARIES[kind], next_step=rng.choice(NEXT_STEPS),
                                     next_contact_on=next_on, actor_key_id=actor.key_id, actor_name=actor.name),
                            leader))
    session.add_all([e for e, _ in entries])
    await session.flush()
    session.add_all([FollowUpLeader(follow_up_id=e.id or 0, leader_id=leader) for e, leader in entries
                     if leader is not None])
    session.add_all([audit_event(actor, "follow_up.create", "follow_up", e.id or 0, {
        "project_id": e.project_id, "occurred_on": e.occurred_on.isoformat(), "kind": e.kind,
        "leader_ids": [leader] if leader else []}) for e, leader in entries])
    return len(entries)


async def _seed_fdi_reports(session: AsyncSession, actor: Principal, made: Sequence[tuple[_Spec, int]],
                            rng: Random) -> int:
    """Utilised FDI of the registered foreign projects: one or two payments each, filed as
    monthly reports (实际使用外资 with the foreign capital arrived, no investment yet; flagged
    ``not_required``, as a registered project need not report) and accepted, through the
    services, dated as the bureau filed and reviewed them."""
    payments: dict[tuple[int, int], Decimal] = {}
    for spec, project_id in made:
        if spec.funding != FundingSource.foreign or spec.path[-1] != S.registered:
            continue
        registered_on = spec.dates[-1]
        for _ in range(rng.randint(1, 2)):
            on = min(registered_on + timedelta(days=rng.randint(10, 120)), DEMO_LAST_DATE)
            amount = (spec.amount * Decimal(rng.randint(8, 25)) / 100).quantize(Decimal("10000"))
            key = (project_id, on.year * 12 + on.month - 1)
            payments[key] = payments.get(key, Decimal(0)) + amount
    duty = report_rules.ReportingRules(due_day=DEMO_DUE_DAY, stages=(S.under_construction,),
                                       designations=(Designation.city_key, Designation.key_preliminary))
    for (project_id, index), amount in sorted(payments.items()):
        year, month = divmod(index, 12)
        month += 1
        due = report_rules.due_on(year, month, duty.due_day)
        filed_on = min(due - timedelta(days=rng.randint(0, 4)), DEMO_LAST_DATE)
        filed = await progress_reports.file(session, actor, project_id, rules=duty, today=filed_on,
                                            data=ProgressReportCreate(
            year=year, month=month, investment_completed=Money(amount=Decimal(0), currency="CNY"),
            funds_arrived=[FundsArrived(source=FundsSource.foreign_capital,
                                        amount=Money(amount=(amount * FDI_CNY_RATE).quantize(Decimal("0.01")),
                                                     currency="CNY"))],
            fdi_utilised=Money(amount=amount, currency="USD"), physical_progress="外资到位，项目公司已注册"))
        await progress_review.review(session, actor, filed.id, data=ReviewCreate(decision=ReviewDecision.accept),
                                     if_match=f'"{filed.version}"',
                                     today=min(filed_on + timedelta(days=rng.randint(1, 3)), DEMO_LAST_DATE))
    return len(payments)


# GB/T 4754-2017 sections by their first division: the letter a division code is filed under.
SECTIONS: Final = ((1, "A"), (6, "B"), (13, "C"), (44, "D"), (47, "E"), (53, "G"), (63, "I"), (66, "J"),
                   (70, "K"), (71, "L"), (73, "M"), (76, "N"), (80, "O"), (83, "P"), (84, "Q"), (86, "R"),
                   (91, "S"), (98, "T"))  # fmt: skip
# What the bureau adds to the seeded reference data: a park within a new area, and an
# industry chain that two seeded industries are links of.
DEMO_PARK: Final = ("sino_german_ecopark", "中德生态园", "Sino-German Ecopark", Zone.binhai_new_area, "370211")
DEMO_CHAIN: Final = ("new_energy_vehicle_chain", "新能源汽车产业链", "New energy vehicle chain", "C36")
CHAIN_LINKS: Final = (I.automotive, I.new_energy)
RE_APPROVED_ON: Final = date(2022, 9, 15)


def national_code(division: str) -> str:
    return next(letter for first, letter in reversed(SECTIONS) if int(division) >= first) + division


async def _seed_reference(session: AsyncSession, actor: Principal) -> None:
    """Region codes on the seeded zones, GB/T 4754 categories on the seeded industries, a park
    and an industry chain: what a bureau keeps, through the same service as the API."""
    async def change(model: type[ZoneEntry] | type[IndustryEntry], read: type[ZoneRead] | type[IndustryRead],
                     key: str, data: ZoneUpdate | IndustryUpdate) -> None:
        entry = await reference.by_key(session, model, key)
        assert entry is not None and entry.id is not None
        await reference.update(session, model, read, entry.id, data=data, if_match=f'"{entry.version}"',
                               actor=actor)

    for zone, regions in ZONE_REGIONS.items():
        if zone != Zone.other:
            await change(ZoneEntry, ZoneRead, zone, ZoneUpdate(region_code=regions[0]))
    for industry, division in INDUSTRY_DIVISIONS.items():
        if industry != I.other:
            await change(IndustryEntry, IndustryRead, industry, IndustryUpdate(national_code=national_code(division)))
    key, name, name_en, parent, region = DEMO_PARK
    await reference.create(session, ZoneEntry, ZoneRead, actor=actor, data=ZoneCreate(
        key=key, name=name, name_en=name_en, parent_key=parent, region_code=region))
    key, name, name_en, category = DEMO_CHAIN
    await reference.create(session, IndustryEntry, IndustryRead, actor=actor, data=IndustryCreate(
        key=key, name=name, name_en=name_en, national_code=category))
    for link in CHAIN_LINKS:
        await change(IndustryEntry, IndustryRead, link, IndustryUpdate(parent_key=key))


async def _re_approve_one(session: AsyncSession, actor: Principal, *, today: date) -> None:
    """The first project with an old-rule code is re-approved and given a new-rule one: both lead to it."""
    # Time codes 2013-2020 are years only (no month 13 and on): old rules, issued before the re-approval.
    old_rules = col(Project.code).between("2013", "2021")
    project = (await session.execute(select(Project).where(old_rules).order_by(col(Project.id)).limit(1))
               ).scalar_one()
    assert project.id is not None and project.code is not None
    stem = f"{RE_APPROVED_ON:%y%m}-{project.code[5:23]}"
    await update_project(session, actor, project.id, if_match=f'"{project.version}"', today=today,
                         data=ProjectUpdate(code=codes.with_check_digit(stem), code_reason=CodeReason.re_approved,
                                            code_on=RE_APPROVED_ON))


REASSIGNED_ON: Final = date(2022, 9, 1)
REASSIGNED: Final = 6


async def _reassign_some(session: AsyncSession, actor: Principal, leader_ids: Sequence[int], *,
                         today: date) -> int:
    """The city's autumn reshuffle: the second leader takes over the first leader's first few live
    projects from ``REASSIGNED_ON``, recorded now. The figures by leader before that date still
    name the first leader (docs/STATS.md, "History")."""
    stmt = (select(Project).where(col(Project.leader_id) == leader_ids[0], col(Project.archived_at).is_(None),
                                  col(Project.stage) != S.terminated.value)
            .order_by(col(Project.id)).limit(REASSIGNED))
    taken = list((await session.execute(stmt)).scalars())
    designations = await designations_of(session, [p.id for p in taken if p.id is not None])
    await change_projects(session, actor, today=today, items=[
        ProjectChange(p, designations[p.id or 0],
                      update=ProjectUpdate(leader_id=leader_ids[1], effective_on=REASSIGNED_ON)) for p in taken])
    return len(taken)


PLANS_REVISED_ON: Final = date(2022, 7, 1)
PLANS_REVISED: Final = 5


async def _revise_some_plans(session: AsyncSession, actor: Principal, *, today: date) -> int:
    """The mid-year plan review (年中计划调整): the first few plans without a quarterly split are
    cut by a fifth from ``PLANS_REVISED_ON``, recorded now. The figures of the months before it
    keep the plans as first set; read with ``known_on`` before the revision, every month does."""
    stmt = (select(AnnualPlan).where(col(AnnualPlan.year) == DEMO_LAST_DATE.year,
                                     col(AnnualPlan.q1_amount).is_(None))
            .order_by(col(AnnualPlan.id)).limit(PLANS_REVISED))
    for plan in list((await session.execute(stmt)).scalars()):
        assert plan.id is not None
        cut = (plan.planned_amount * Decimal("0.8")).quantize(Decimal("0.01"))
        await plans.update(session, actor, plan.id, if_match=versioning.etag(plan.version), today=today,
                           data=AnnualPlanUpdate(planned_investment=Money(amount=cut, currency=plan.planned_currency),
                                                 effective_on=PLANS_REVISED_ON))
    return PLANS_REVISED


async def _seed_rates(session: AsyncSession, actor: Principal) -> int:
    for currency, values in DEMO_RATES.items():
        for valid_from, rate in zip(RATE_DATES, values, strict=True):
            await exchange_rates.create_rate(session, actor=actor, data=ExchangeRateCreate(
                currency=currency, rate=Decimal(rate), valid_from=valid_from, source=RATE_SOURCE))
    return sum(len(values) for values in DEMO_RATES.values())


async def _seed_targets(session: AsyncSession, actor: Principal) -> int:
    """The plan's targets, each listing the projects its figure's filter finds."""
    for key, target in PLAN_TARGETS.items():
        figure = PLAN_FIGURES[key]
        assert figure["total"] is not None
        amount, currency = figure["total"]
        stmt = ProjectFilters(**figure["filter"]).apply(select(col(Project.id))).order_by(col(Project.id))  # type: ignore[arg-type]
        members = list((await session.execute(stmt)).scalars())
        await targets.create_target(session, actor=actor, data=TargetCreate(
            year=PLAN_YEAR, title=target["title"], description=target["description"],
            goal_stage=target["goal_stage"], goal_designation=target["goal_designation"],
            target_count=figure["count"], target_amount=Money(amount=Decimal(amount), currency=currency),
            membership=TargetMembership.list, members=members, members_since=date(PLAN_YEAR, 1, 1),
            plan_rates={c: Decimal(r) for c, r in target["plan_rates"].items()}))
    return len(PLAN_TARGETS)
