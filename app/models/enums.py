"""The service's vocabularies. Values are English snake_case; ``LABELS`` gives each its
Chinese display label, served by ``GET /api/v1/meta/enums``. Zones and industries are
reference data the bureau keeps (``app.models.reference``), not enums."""

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


class CodeReason(StrEnum):
    """Why a project has a national project code: its first, a new approval, a mistake put right."""

    assigned = "assigned"
    re_approved = "re_approved"
    corrected = "corrected"


class FundingSource(StrEnum):
    foreign = "foreign"
    domestic = "domestic"


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


class DifficultyCategory(StrEnum):
    land = "land"
    financing = "financing"
    approval = "approval"
    utilities = "utilities"
    labour = "labour"
    policy = "policy"
    other = "other"


class DifficultyStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


# Not yet resolved by the responsible unit: these can be overdue and escalate.
UNRESOLVED: tuple[DifficultyStatus, ...] = (DifficultyStatus.open, DifficultyStatus.in_progress)


class DifficultyEventKind(StrEnum):
    raised = "raised"
    note = "note"
    start = "start"
    resolve = "resolve"
    reject = "reject"
    close = "close"
    escalate = "escalate"


class EscalationLevel(StrEnum):
    unit = "unit"
    leader = "leader"
    supervision_office = "supervision_office"


# The ladder's rungs, lowest first: who must clear an overdue difficulty.
ESCALATION_ORDER: tuple[EscalationLevel, ...] = (
    EscalationLevel.unit,
    EscalationLevel.leader,
    EscalationLevel.supervision_office,
)


class SupervisionSource(StrEnum):
    leader_instruction = "leader_instruction"
    meeting_decision = "meeting_decision"
    plan_item = "plan_item"


class SupervisionStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    overdue = "overdue"
    done = "done"


class TargetMembership(StrEnum):
    """How a target says which projects it counts: a named list, or a criterion."""

    list = "list"
    criterion = "criterion"


class TargetProjectStatus(StrEnum):
    """A member's standing against its target: ``done`` reached the goal; ``late`` did not
    and is behind its plan; ``open`` neither; ``dropped`` was terminated."""

    done = "done"
    late = "late"
    open = "open"
    dropped = "dropped"


class ProjectStatus(StrEnum):
    """A project's red/amber/green status on a date (``app.services.stats.health``)."""

    green = "green"
    amber = "amber"
    red = "red"


class StatusRule(StrEnum):
    sign_overdue = "sign_overdue"
    start_overdue = "start_overdue"
    production_overdue = "production_overdue"
    stalled = "stalled"
    no_follow_up = "no_follow_up"
    investment_behind = "investment_behind"
    report_missing = "report_missing"


class PipelineDimension(StrEnum):
    """What ``/stats/pipeline`` can group by; ``year`` is the year a project entered the
    stage it is in on the date asked; ``zone_root`` and ``industry_root`` the top of the
    zone's or industry's chain of parents (a park counts with its district)."""

    stage = "stage"
    funding_source = "funding_source"
    zone = "zone"
    industry = "industry"
    zone_root = "zone_root"
    industry_root = "industry_root"
    leader = "leader"
    unit = "unit"
    year = "year"
    investor_country = "investor_country"


class FollowUpKind(StrEnum):
    """What a follow-up log entry (跟踪记录) records."""

    visit = "visit"
    meeting = "meeting"
    inspection = "inspection"
    call = "call"
    video_call = "video_call"
    ceremony = "ceremony"
    other = "other"


class CohortBy(StrEnum):
    """What ``/stats/cohorts`` groups signed projects by."""

    signed_year = "signed_year"
    signing_event = "signing_event"


class ReportStatus(StrEnum):
    """A monthly report's version: filed, then accepted or returned by the bureau."""

    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"


class ReviewDecision(StrEnum):
    accept = "accept"
    return_ = "return"


class FundsSource(StrEnum):
    """Where funds that arrived came from (本月到位资金来源)."""

    own_funds = "own_funds"
    bank_loans = "bank_loans"
    government_funds = "government_funds"
    special_bonds = "special_bonds"
    foreign_capital = "foreign_capital"
    other = "other"


class InvestmentDimension(StrEnum):
    """What ``/stats/investment`` can group by. A project counts in each designation it holds
    (granted) and each of the year's targets it is a member of."""

    leader = "leader"
    unit = "unit"
    zone = "zone"
    industry = "industry"
    designation = "designation"
    target = "target"
    stage = "stage"


class Role(StrEnum):
    admin = "admin"
    bureau = "bureau"
    leader = "leader"
    unit = "unit"
    integration = "integration"
    viewer = "viewer"


class ApprovalStatus(StrEnum):
    not_started = "not_started"
    submitted = "submitted"
    accepted = "accepted"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


# Statuses in which an item waits on its authority, so its time limit runs.
APPROVAL_PENDING: tuple[ApprovalStatus, ...] = (ApprovalStatus.submitted, ApprovalStatus.accepted)
# Statuses that are the authority's decision.
APPROVAL_DECIDED: tuple[ApprovalStatus, ...] = (ApprovalStatus.approved, ApprovalStatus.rejected)


class ApprovalEventOutcome(StrEnum):
    applied = "applied"
    stale = "stale"
    unmatched = "unmatched"


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"


class AttemptOutcome(StrEnum):
    succeeded = "succeeded"
    failed = "failed"
    interrupted = "interrupted"
    abandoned = "abandoned"


class DeliveryError(StrEnum):
    """Why a webhook attempt failed, in our words: the receiver's answer is never kept."""

    timeout = "timeout"
    connection_failed = "connection_failed"
    tls_error = "tls_error"
    http_status = "http_status"
    destination_refused = "destination_refused"


class ImportAction(StrEnum):
    """What a ledger import does with one row."""

    create = "create"
    update = "update"
    unchanged = "unchanged"


class ImportKind(StrEnum):
    """Which ledger an import job reads."""

    projects = "projects"
    progress_reports = "progress_reports"


class ImportJobStatus(StrEnum):
    """Where an import job is: waiting, being run by a process, or done (``finished``, ``failed``)."""

    queued = "queued"
    running = "running"
    finished = "finished"
    failed = "failed"


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
    "code_reason": {"assigned": "赋码", "re_approved": "重新审批赋码", "corrected": "更正"},
    "designation": {"city_key": "市重点项目", "key_preliminary": "重点前期项目"},
    "designation_status": {
        "candidate": "争取列入",
        "applied": "已申报",
        "granted": "已列入",
        "rejected": "未列入",
    },
    "unit_kind": {"department": "市直部门", "district": "区政府", "other": "其他"},
    "difficulty_category": {
        "land": "用地",
        "financing": "融资",
        "approval": "审批",
        "utilities": "水电气热配套",
        "labour": "用工",
        "policy": "政策",
        "other": "其他",
    },
    "difficulty_status": {
        "open": "待办理",
        "in_progress": "办理中",
        "resolved": "已办结待确认",
        "closed": "已销号",
    },
    "difficulty_event_kind": {
        "raised": "提出",
        "note": "进展",
        "start": "开始办理",
        "resolve": "提交办结",
        "reject": "退回重办",
        "close": "确认销号",
        "escalate": "升级督办",
    },
    "escalation_level": {
        "unit": "责任单位",
        "leader": "包项目市领导",
        "supervision_office": "督查室",
    },
    "supervision_source": {
        "leader_instruction": "领导批示",
        "meeting_decision": "会议议定事项",
        "plan_item": "计划任务",
    },
    "supervision_status": {
        "pending": "待分解",
        "in_progress": "推进中",
        "overdue": "逾期",
        "done": "已完成",
    },
    "target_membership": {"list": "项目名单", "criterion": "条件"},
    "target_project_status": {"done": "已完成", "late": "滞后", "open": "推进中", "dropped": "已终止"},
    "project_status": {"green": "正常", "amber": "预警", "red": "滞后"},
    "status_rule": {
        "sign_overdue": "计划签约日期已过未签约",
        "start_overdue": "计划开工日期已过未开工",
        "production_overdue": "计划投产日期已过未投产",
        "stalled": "长期未推进",
        "no_follow_up": "长期未跟踪",
        "investment_behind": "投资完成滞后于时间进度",
        "report_missing": "月报未按时报送",
    },
    "pipeline_dimension": {
        "stage": "阶段",
        "funding_source": "资金来源",
        "zone": "重点区域",
        "industry": "产业",
        "zone_root": "所属上级区域",
        "industry_root": "所属产业链",
        "leader": "包项目市领导",
        "unit": "责任单位",
        "year": "进入阶段年份",
        "investor_country": "投资方国别",
    },
    "follow_up_kind": {
        "visit": "走访",
        "meeting": "洽谈会见",
        "inspection": "考察",
        "call": "电话联系",
        "video_call": "视频会谈",
        "ceremony": "签约仪式",
        "other": "其他",
    },
    "cohort_by": {"signed_year": "签约年份", "signing_event": "签约活动"},
    "report_status": {"submitted": "已填报待审核", "accepted": "审核通过", "returned": "退回"},
    "review_decision": {"accept": "通过", "return": "退回"},
    "funds_source": {
        "own_funds": "自有资金",
        "bank_loans": "银行贷款",
        "government_funds": "政府资金",
        "special_bonds": "专项债",
        "foreign_capital": "外资",
        "other": "其他",
    },
    "investment_dimension": {
        "leader": "包项目市领导",
        "unit": "责任单位",
        "zone": "重点区域",
        "industry": "产业",
        "designation": "重点项目类别",
        "target": "年度目标",
        "stage": "阶段",
    },
    "role": {
        "admin": "系统管理员",
        "bureau": "招商局",
        "leader": "市领导",
        "unit": "责任单位",
        "integration": "审批系统",
        "viewer": "只读",
    },
    "approval_status": {
        "not_started": "未申报",
        "submitted": "已申报",
        "accepted": "已受理",
        "approved": "已批复",
        "rejected": "不予批准",
        "withdrawn": "已撤回",
    },
    "approval_event_outcome": {"applied": "已处理", "stale": "过时未处理", "unmatched": "待匹配项目"},
    "delivery_status": {"pending": "待推送", "delivered": "已送达", "failed": "推送失败", "cancelled": "已取消"},
    "attempt_outcome": {"succeeded": "成功", "failed": "失败", "interrupted": "中断", "abandoned": "超时放弃"},
    "delivery_error": {"timeout": "超时", "connection_failed": "连接失败", "tls_error": "TLS错误",
                       "http_status": "非2xx应答", "destination_refused": "目标地址不允许"},
    "import_action": {"create": "新增", "update": "更新", "unchanged": "无变化"},
    "import_kind": {"projects": "项目台账", "progress_reports": "月报台账"},
    "import_job_status": {"queued": "排队中", "running": "导入中", "finished": "已完成", "failed": "失败"},
}

ENUMS: dict[str, type[StrEnum]] = {
    "stage": Stage,
    "transition_kind": TransitionKind,
    "funding_source": FundingSource,
    "code_reason": CodeReason,
    "designation": Designation,
    "designation_status": DesignationStatus,
    "unit_kind": UnitKind,
    "difficulty_category": DifficultyCategory,
    "difficulty_status": DifficultyStatus,
    "difficulty_event_kind": DifficultyEventKind,
    "escalation_level": EscalationLevel,
    "supervision_source": SupervisionSource,
    "supervision_status": SupervisionStatus,
    "target_membership": TargetMembership,
    "target_project_status": TargetProjectStatus,
    "project_status": ProjectStatus,
    "status_rule": StatusRule,
    "pipeline_dimension": PipelineDimension,
    "follow_up_kind": FollowUpKind,
    "cohort_by": CohortBy,
    "report_status": ReportStatus,
    "review_decision": ReviewDecision,
    "funds_source": FundsSource,
    "investment_dimension": InvestmentDimension,
    "role": Role,
    "approval_status": ApprovalStatus,
    "approval_event_outcome": ApprovalEventOutcome,
    "delivery_status": DeliveryStatus,
    "attempt_outcome": AttemptOutcome,
    "delivery_error": DeliveryError,
    "import_action": ImportAction,
    "import_kind": ImportKind,
    "import_job_status": ImportJobStatus,
}
