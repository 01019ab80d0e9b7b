"""The service's vocabularies. Values are English snake_case; each member carries its
Chinese display label, and a vocabulary's members are listed (and served by
``GET /api/v1/meta/enums``) in the order they are written here. Zones and industries are
reference data the bureau keeps (``app.models.reference``), not enums."""

import re
from enum import StrEnum
from typing import Self


class Labelled(StrEnum):
    """A vocabulary whose members are written ``name = "value", "中文标签"``."""

    _value_: str
    label: str

    # The default only lets type checkers read ``Stage("signed")``, a lookup by value that
    # never calls this; every member is written with its label.
    def __new__(cls, value: str, label: str = "") -> Self:
        if not label:
            raise ValueError(f"{cls.__name__}.{value} has no label")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class Stage(Labelled):
    negotiating = "negotiating", "在谈"
    signed = "signed", "签约"
    registered = "registered", "注册/落地"
    preliminary = "preliminary", "前期"
    under_construction = "under_construction", "在建"
    in_production = "in_production", "投产"
    terminated = "terminated", "终止"


# The forward order of the lifecycle; ``terminated`` stands outside it.
STAGE_ORDER: tuple[Stage, ...] = (
    Stage.negotiating,
    Stage.signed,
    Stage.registered,
    Stage.preliminary,
    Stage.under_construction,
    Stage.in_production,
)


class TransitionKind(Labelled):
    created = "created", "建档"
    advance = "advance", "推进"
    terminate = "terminate", "终止"
    correction = "correction", "更正"


class CodeReason(Labelled):
    """Why a project has a national project code: its first, a new approval, a mistake put right."""

    assigned = "assigned", "赋码"
    re_approved = "re_approved", "重新审批赋码"
    corrected = "corrected", "更正"


class FundingSource(Labelled):
    foreign = "foreign", "外资"
    domestic = "domestic", "内资"


class Zone(StrEnum):
    """The zone keys the service shipped with, which the reference-data migration seeded into
    ``zones``: the table, not this class, is the vocabulary (``/api/v1/zones``). The demo
    and the bench generator name these keys."""

    binhai_new_area = "binhai_new_area"
    international_land_port = "international_land_port"
    dagu_river_belt = "dagu_river_belt"
    western_district = "western_district"
    sanlihe_downstream = "sanlihe_downstream"
    yinglan_tech_city = "yinglan_tech_city"
    other = "other"


class Industry(StrEnum):
    """The industry keys the reference-data migration seeded into ``industries``; like
    ``Zone``, named by the demo and the bench generator, not a vocabulary."""

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


class Designation(Labelled):
    city_key = "city_key", "市重点项目"
    key_preliminary = "key_preliminary", "重点前期项目"


class DesignationStatus(Labelled):
    candidate = "candidate", "争取列入"
    applied = "applied", "已申报"
    granted = "granted", "已列入"
    rejected = "rejected", "未列入"


class UnitKind(Labelled):
    department = "department", "市直部门"
    district = "district", "区政府"
    other = "other", "其他"


class DifficultyCategory(Labelled):
    land = "land", "用地"
    financing = "financing", "融资"
    approval = "approval", "审批"
    utilities = "utilities", "水电气热配套"
    labour = "labour", "用工"
    policy = "policy", "政策"
    other = "other", "其他"


class DifficultyStatus(Labelled):
    open = "open", "待办理"
    in_progress = "in_progress", "办理中"
    resolved = "resolved", "已办结待确认"
    closed = "closed", "已销号"


# Not yet resolved by the responsible unit: these can be overdue and escalate.
UNRESOLVED: tuple[DifficultyStatus, ...] = (DifficultyStatus.open, DifficultyStatus.in_progress)


class DifficultyEventKind(Labelled):
    raised = "raised", "提出"
    note = "note", "进展"
    start = "start", "开始办理"
    resolve = "resolve", "提交办结"
    reject = "reject", "退回重办"
    close = "close", "确认销号"
    escalate = "escalate", "升级督办"


class EscalationLevel(Labelled):
    unit = "unit", "责任单位"
    leader = "leader", "包项目市领导"
    supervision_office = "supervision_office", "督查室"


# The ladder's rungs, lowest first: who must clear an overdue difficulty.
ESCALATION_ORDER: tuple[EscalationLevel, ...] = (
    EscalationLevel.unit,
    EscalationLevel.leader,
    EscalationLevel.supervision_office,
)


class SupervisionSource(Labelled):
    leader_instruction = "leader_instruction", "领导批示"
    meeting_decision = "meeting_decision", "会议议定事项"
    plan_item = "plan_item", "计划任务"


class SupervisionStatus(Labelled):
    pending = "pending", "待分解"
    in_progress = "in_progress", "推进中"
    overdue = "overdue", "逾期"
    done = "done", "已完成"


class TargetMembership(Labelled):
    """How a target says which projects it counts: a named list, or a criterion."""

    list = "list", "项目名单"
    criterion = "criterion", "条件"


class TargetProjectStatus(Labelled):
    """A member's standing against its target: ``done`` reached the goal; ``late`` did not
    and is behind its plan; ``open`` neither; ``dropped`` was terminated."""

    done = "done", "已完成"
    late = "late", "滞后"
    open = "open", "推进中"
    dropped = "dropped", "已终止"


class ProjectHealth(Labelled):
    """A project's red/amber/green status on a date (``app.services.stats.health``)."""

    green = "green", "正常"
    amber = "amber", "黄色预警"
    red = "red", "红色预警"


class HealthRule(Labelled):
    sign_overdue = "sign_overdue", "计划签约日期已过未签约"
    start_overdue = "start_overdue", "计划开工日期已过未开工"
    production_overdue = "production_overdue", "计划投产日期已过未投产"
    stalled = "stalled", "长期未推进"
    no_follow_up = "no_follow_up", "长期未跟踪"
    investment_behind = "investment_behind", "投资完成滞后于时间进度"
    report_missing = "report_missing", "月报未按时报送"


class PipelineDimension(Labelled):
    """What ``/stats/pipeline`` can group by; ``year`` is the year a project entered the
    stage it is in on the date asked; ``zone_root`` and ``industry_root`` the top of the
    zone's or industry's chain of parents (a park counts with its district)."""

    stage = "stage", "阶段"
    funding_source = "funding_source", "资金来源"
    zone = "zone", "重点区域"
    industry = "industry", "产业"
    zone_root = "zone_root", "所属上级区域"
    industry_root = "industry_root", "所属产业链"
    leader = "leader", "包项目市领导"
    unit = "unit", "责任单位"
    year = "year", "进入阶段年份"
    investor_country = "investor_country", "投资方国别"


class FollowUpKind(Labelled):
    """What a follow-up log entry (跟踪记录) records."""

    visit = "visit", "走访"
    meeting = "meeting", "洽谈会见"
    inspection = "inspection", "考察"
    call = "call", "电话联系"
    video_call = "video_call", "视频会谈"
    ceremony = "ceremony", "签约仪式"
    other = "other", "其他"


class CohortBy(Labelled):
    """What ``/stats/cohorts`` groups signed projects by."""

    signed_year = "signed_year", "签约年份"
    signing_event = "signing_event", "签约活动"


class ReportStatus(Labelled):
    """A monthly report's version: filed, then accepted or returned by the bureau."""

    submitted = "submitted", "已填报待审核"
    accepted = "accepted", "审核通过"
    returned = "returned", "退回"


class ReviewDecision(Labelled):
    accept = "accept", "通过"
    return_ = "return", "退回"


class FundsSource(Labelled):
    """Where funds that arrived came from (本月到位资金来源)."""

    own_funds = "own_funds", "自有资金"
    bank_loans = "bank_loans", "银行贷款"
    government_funds = "government_funds", "政府资金"
    special_bonds = "special_bonds", "专项债"
    foreign_capital = "foreign_capital", "外资"
    other = "other", "其他"


class InvestmentDimension(Labelled):
    """What ``/stats/investment`` can group by. A project counts in each designation it holds
    (granted) and each of the year's targets it is a member of."""

    leader = "leader", "包项目市领导"
    unit = "unit", "责任单位"
    zone = "zone", "重点区域"
    industry = "industry", "产业"
    designation = "designation", "重点项目类别"
    target = "target", "年度目标"
    stage = "stage", "阶段"


class Role(Labelled):
    admin = "admin", "系统管理员"
    bureau = "bureau", "招商局"
    leader = "leader", "市领导"
    unit = "unit", "责任单位"
    integration = "integration", "审批系统"
    viewer = "viewer", "只读"


class ApprovalStatus(Labelled):
    not_started = "not_started", "未申报"
    submitted = "submitted", "已申报"
    accepted = "accepted", "已受理"
    approved = "approved", "已批复"
    rejected = "rejected", "不予批准"
    withdrawn = "withdrawn", "已撤回"


# Statuses in which an item waits on its authority, so its time limit runs.
APPROVAL_PENDING: tuple[ApprovalStatus, ...] = (ApprovalStatus.submitted, ApprovalStatus.accepted)
# Statuses that are the authority's decision.
APPROVAL_DECIDED: tuple[ApprovalStatus, ...] = (ApprovalStatus.approved, ApprovalStatus.rejected)


class ApprovalEventOutcome(Labelled):
    applied = "applied", "已处理"
    stale = "stale", "过时未处理"
    unmatched = "unmatched", "待匹配项目"


class DeliveryStatus(Labelled):
    pending = "pending", "待推送"
    delivered = "delivered", "已送达"
    failed = "failed", "推送失败"
    cancelled = "cancelled", "已取消"


class AttemptOutcome(Labelled):
    succeeded = "succeeded", "成功"
    failed = "failed", "失败"
    interrupted = "interrupted", "中断"
    abandoned = "abandoned", "超时放弃"


class DeliveryError(Labelled):
    """Why a webhook attempt failed, in our words: the receiver's answer is never kept."""

    timeout = "timeout", "超时"
    connection_failed = "connection_failed", "连接失败"
    tls_error = "tls_error", "TLS错误"
    http_status = "http_status", "非2xx应答"
    destination_refused = "destination_refused", "目标地址不允许"


class ImportAction(Labelled):
    """What a ledger import does with one row."""

    create = "create", "新增"
    update = "update", "更新"
    unchanged = "unchanged", "无变化"


class ImportKind(Labelled):
    """Which ledger an import job reads."""

    projects = "projects", "项目台账"
    progress_reports = "progress_reports", "月报台账"


class ImportJobStatus(Labelled):
    """Where an import job is: waiting, being run by a process, or done (``finished``, ``failed``)."""

    queued = "queued", "排队中"
    running = "running", "导入中"
    finished = "finished", "已完成"
    failed = "failed", "失败"


def vocabulary_name(enum: type[Labelled]) -> str:
    """The vocabulary's name in ``/meta/enums``: its class name in snake_case (``ProjectHealth``
    is ``project_health``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).lower()


# Every vocabulary by its name, as ``/meta/enums`` serves them.
ENUMS: dict[str, type[Labelled]] = {vocabulary_name(enum): enum for enum in Labelled.__subclasses__()}
