"""Typed Feishu event bodies (the same list as the Rust SDK's ``TypedEvent``).

The models are lenient like the Rust ones: a missing or ``null`` field gets its default
(``""``, ``False``, ``[]``, ``{}``, an empty nested model; numbers Feishu may omit are
``Optional``), unknown fields are ignored, and the raw dict is always in ``event.body()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from . import content as _content
from ._model import _from_dict
from .content import MessageContent


# ---- shared ---------------------------------------------------------------------------------


@dataclass
class UserId:
    open_id: str = ""
    union_id: str = ""
    user_id: str = ""


def _uid() -> Any:
    return field(default_factory=UserId)


# ---- im ---------------------------------------------------------------------------------------


@dataclass
class Sender:
    sender_id: UserId = _uid()
    #: "user", "app" (another bot), …
    sender_type: str = ""
    tenant_key: str = ""


@dataclass
class Mention:
    key: str = ""
    id: UserId = _uid()
    name: str = ""
    tenant_key: str = ""


@dataclass
class Message:
    message_id: str = ""
    root_id: str = ""
    parent_id: str = ""
    create_time: str = ""
    update_time: str = ""
    chat_id: str = ""
    thread_id: str = ""
    #: "p2p" or "group".
    chat_type: str = ""
    #: "text", "post", "image", "file", "interactive", …
    message_type: str = ""
    #: The content as a JSON string, e.g. '{"text":"hello"}'; see ``text()``.
    content: str = ""
    mentions: List[Mention] = field(default_factory=list)
    user_agent: str = ""

    def content_json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    def text(self) -> Optional[str]:
        """The text of a ``text`` message (mention keys like ``@_user_1`` included)."""
        if self.message_type != "text":
            return None
        c = self.content_json()
        t = c.get("text") if isinstance(c, dict) else None
        return t if isinstance(t, str) else None

    def parse_content(self) -> MessageContent:
        """The content as the dataclass for ``message_type`` (``content.UnknownContent`` for
        other types). Raises ``ValueError`` when the content is not JSON."""
        return _content.parse_content(self.message_type, self.content)

    def plain_text(self) -> Optional[str]:
        """The content of any message type as text, mention placeholders kept; ``None`` when
        the content is not JSON."""
        try:
            return self.parse_content().plain_text()
        except ValueError:
            return None

    def text_with_names(self) -> Optional[str]:
        """``plain_text()`` with each ``@_user_N`` replaced by ``@name`` and ``@_all`` by ``@all``."""
        text = self.plain_text()
        if text is None:
            return None
        for m in self._mentions_longest_first():
            text = text.replace(m.key, f"@{m.name}" if m.name else "")
        return text.replace(_content.AT_ALL, "@all")

    def text_without_mentions(self) -> Optional[str]:
        """``plain_text()`` without the mention placeholders (and ``@_all``), spaces collapsed
        within each line, trimmed: what the user typed after @bot (every message type)."""
        text = self.plain_text()
        if text is None:
            return None
        for m in self._mentions_longest_first():
            text = text.replace(m.key, "")
        lines = text.replace(_content.AT_ALL, "").split("\n")
        return "\n".join(" ".join(line.split()) for line in lines).strip()

    def mentions_bot(self, bot_open_id: str) -> bool:
        """Whether the bot with this open_id (from config, or learned from
        ``im.chat.member.bot.added_v1``) is @-mentioned."""
        return bool(bot_open_id) and any(m.id.open_id == bot_open_id for m in self.mentions)

    def mentions_all(self) -> bool:
        """Whether the message @-mentions everyone."""
        if any(m.key == _content.AT_ALL for m in self.mentions):
            return True
        return _content.AT_ALL in (self.plain_text() or "")

    def _mentions_longest_first(self) -> List[Mention]:
        # Longest key first, so @_user_1 never eats the start of @_user_10.
        return sorted((m for m in self.mentions if m.key), key=lambda m: -len(m.key))


@dataclass
class MessageReceive:
    """``im.message.receive_v1``"""

    EVENT_TYPE = "im.message.receive_v1"
    sender: Sender = field(default_factory=Sender)
    message: Message = field(default_factory=Message)

    def text(self) -> Optional[str]:
        return self.message.text()

    def parse_content(self) -> MessageContent:
        return self.message.parse_content()

    def mentions_bot(self, bot_open_id: str) -> bool:
        return self.message.mentions_bot(bot_open_id)

    def from_app(self) -> bool:
        """Whether another app (bot) sent it: most bots ignore those."""
        return self.sender.sender_type == "app"


@dataclass
class Reader:
    reader_id: UserId = _uid()
    read_time: str = ""
    tenant_key: str = ""


@dataclass
class MessageRead:
    """``im.message.message_read_v1``"""

    EVENT_TYPE = "im.message.message_read_v1"
    reader: Reader = field(default_factory=Reader)
    message_id_list: List[str] = field(default_factory=list)


@dataclass
class ChatMember:
    name: str = ""
    tenant_key: str = ""
    user_id: UserId = _uid()


@dataclass
class _ChatMembers:
    chat_id: str = ""
    operator_id: UserId = _uid()
    external: bool = False
    operator_tenant_key: str = ""
    users: List[ChatMember] = field(default_factory=list)
    name: str = ""
    i18n_names: Dict[str, str] = field(default_factory=dict)


@dataclass
class ChatMemberUserAdded(_ChatMembers):
    """``im.chat.member.user_added_v1``"""

    EVENT_TYPE = "im.chat.member.user_added_v1"


@dataclass
class ChatMemberUserDeleted(_ChatMembers):
    """``im.chat.member.user_deleted_v1``"""

    EVENT_TYPE = "im.chat.member.user_deleted_v1"


@dataclass
class ChatChange:
    avatar: str = ""
    name: str = ""
    description: str = ""
    i18n_names: Dict[str, str] = field(default_factory=dict)
    add_member_permission: str = ""
    share_card_permission: str = ""
    at_all_permission: str = ""
    edit_permission: str = ""
    membership_approval: str = ""
    join_message_visibility: str = ""
    leave_message_visibility: str = ""
    moderation_permission: str = ""
    owner_id: UserId = _uid()
    restricted_mode_setting: Any = None


@dataclass
class Moderator:
    tenant_key: str = ""
    user_id: UserId = _uid()


@dataclass
class ModeratorList:
    added_member_list: List[Moderator] = field(default_factory=list)
    removed_member_list: List[Moderator] = field(default_factory=list)


@dataclass
class ChatUpdated:
    """``im.chat.updated_v1``"""

    EVENT_TYPE = "im.chat.updated_v1"
    chat_id: str = ""
    operator_id: UserId = _uid()
    external: bool = False
    operator_tenant_key: str = ""
    after_change: ChatChange = field(default_factory=ChatChange)
    before_change: ChatChange = field(default_factory=ChatChange)
    moderator_list: ModeratorList = field(default_factory=ModeratorList)


# ---- bot membership, reactions, recalls, p2p, menu --------------------------------------------


@dataclass
class _ChatEvent:
    chat_id: str = ""
    operator_id: UserId = _uid()
    external: bool = False
    operator_tenant_key: str = ""
    #: The chat's name.
    name: str = ""
    i18n_names: Dict[str, str] = field(default_factory=dict)


@dataclass
class ChatMemberBotAdded(_ChatEvent):
    """``im.chat.member.bot.added_v1``: the bot was added to a chat."""

    EVENT_TYPE = "im.chat.member.bot.added_v1"


@dataclass
class ChatMemberBotDeleted(_ChatEvent):
    """``im.chat.member.bot.deleted_v1``: the bot was removed from a chat."""

    EVENT_TYPE = "im.chat.member.bot.deleted_v1"


@dataclass
class ChatDisbanded(_ChatEvent):
    """``im.chat.disbanded_v1``"""

    EVENT_TYPE = "im.chat.disbanded_v1"


@dataclass
class ReactionType:
    #: e.g. ``THUMBSUP``.
    emoji_type: str = ""


@dataclass
class _Reaction:
    message_id: str = ""
    reaction_type: ReactionType = field(default_factory=ReactionType)
    #: ``user`` (``user_id`` set) or ``app`` (``app_id`` set).
    operator_type: str = ""
    user_id: UserId = _uid()
    app_id: str = ""
    #: Epoch milliseconds, as a string.
    action_time: str = ""


@dataclass
class ReactionCreated(_Reaction):
    """``im.message.reaction.created_v1``"""

    EVENT_TYPE = "im.message.reaction.created_v1"


@dataclass
class ReactionDeleted(_Reaction):
    """``im.message.reaction.deleted_v1``"""

    EVENT_TYPE = "im.message.reaction.deleted_v1"


@dataclass
class MessageRecalled:
    """``im.message.recalled_v1``"""

    EVENT_TYPE = "im.message.recalled_v1"
    message_id: str = ""
    chat_id: str = ""
    recall_time: str = ""
    #: ``message_owner``, ``group_owner``, ``group_manager``, ``enterprise_manager``.
    recall_type: str = ""


@dataclass
class BotP2pChatEntered:
    """``im.chat.access_event.bot_p2p_chat_entered_v1``: a user opened the p2p chat."""

    EVENT_TYPE = "im.chat.access_event.bot_p2p_chat_entered_v1"
    chat_id: str = ""
    operator_id: UserId = _uid()
    last_message_id: str = ""
    last_message_create_time: str = ""


@dataclass
class MenuOperator:
    operator_name: str = ""
    operator_id: UserId = _uid()


@dataclass
class BotMenu:
    """``application.bot.menu_v6``: a user clicked the bot menu item ``event_key``."""

    EVENT_TYPE = "application.bot.menu_v6"
    operator: MenuOperator = field(default_factory=MenuOperator)
    event_key: str = ""
    #: Epoch seconds.
    timestamp: int = 0


# ---- contact ----------------------------------------------------------------------------------


@dataclass
class Avatar:
    avatar_72: str = ""
    avatar_240: str = ""
    avatar_640: str = ""
    avatar_origin: str = ""


@dataclass
class UserStatus:
    is_frozen: bool = False
    is_resigned: bool = False
    is_activated: bool = False
    is_exited: bool = False
    is_unjoin: bool = False


@dataclass
class User:
    open_id: str = ""
    union_id: str = ""
    user_id: str = ""
    name: str = ""
    en_name: str = ""
    nickname: str = ""
    email: str = ""
    enterprise_email: str = ""
    job_title: str = ""
    mobile: str = ""
    gender: Optional[int] = None
    avatar: Avatar = field(default_factory=Avatar)
    status: UserStatus = field(default_factory=UserStatus)
    department_ids: List[str] = field(default_factory=list)
    leader_user_id: str = ""
    city: str = ""
    country: str = ""
    work_station: str = ""
    join_time: Optional[int] = None
    is_tenant_manager: bool = False
    employee_no: str = ""
    employee_type: Optional[int] = None
    custom_attrs: List[Any] = field(default_factory=list)
    job_level_id: str = ""
    job_family_id: str = ""


@dataclass
class UserCreated:
    """``contact.user.created_v3``"""

    EVENT_TYPE = "contact.user.created_v3"
    object: User = field(default_factory=User)


@dataclass
class _UserChange:
    object: User = field(default_factory=User)
    old_object: User = field(default_factory=User)


@dataclass
class UserUpdated(_UserChange):
    """``contact.user.updated_v3``"""

    EVENT_TYPE = "contact.user.updated_v3"


@dataclass
class UserDeleted(_UserChange):
    """``contact.user.deleted_v3``"""

    EVENT_TYPE = "contact.user.deleted_v3"


@dataclass
class DepartmentStatus:
    is_deleted: bool = False


@dataclass
class DepartmentLeader:
    leader_type: Optional[int] = field(default=None, metadata={"json": "leaderType"})
    leader_id: str = field(default="", metadata={"json": "leaderID"})


@dataclass
class Department:
    name: str = ""
    i18n_name: Dict[str, str] = field(default_factory=dict)
    parent_department_id: str = ""
    department_id: str = ""
    open_department_id: str = ""
    leader_user_id: str = ""
    chat_id: str = ""
    order: str = ""
    unit_ids: List[str] = field(default_factory=list)
    status: DepartmentStatus = field(default_factory=DepartmentStatus)
    leaders: List[DepartmentLeader] = field(default_factory=list)


@dataclass
class DepartmentCreated:
    """``contact.department.created_v3``"""

    EVENT_TYPE = "contact.department.created_v3"
    object: Department = field(default_factory=Department)


@dataclass
class _DepartmentChange:
    object: Department = field(default_factory=Department)
    old_object: Department = field(default_factory=Department)


@dataclass
class DepartmentUpdated(_DepartmentChange):
    """``contact.department.updated_v3``"""

    EVENT_TYPE = "contact.department.updated_v3"


@dataclass
class DepartmentDeleted(_DepartmentChange):
    """``contact.department.deleted_v3``"""

    EVENT_TYPE = "contact.department.deleted_v3"


# ---- approval, calendar, vc -------------------------------------------------------------------


@dataclass
class _Approval:
    app_id: str = ""
    tenant_key: str = ""
    approval_code: str = ""
    instance_code: str = ""
    status: str = ""
    operate_time: str = ""
    user_id: str = ""
    open_id: str = ""
    uuid: str = ""


@dataclass
class ApprovalApproved(_Approval):
    """``approval.approval.approved_v1``"""

    EVENT_TYPE = "approval.approval.approved_v1"


@dataclass
class ApprovalRejected(_Approval):
    """``approval.approval.rejected_v1``"""

    EVENT_TYPE = "approval.approval.rejected_v1"


@dataclass
class CalendarEventChanged:
    """``calendar.calendar.event.changed_v4``"""

    EVENT_TYPE = "calendar.calendar.event.changed_v4"
    calendar_id: str = ""
    user_id_list: List[UserId] = field(default_factory=list)
    calendar_event_id: str = ""
    change_type: str = ""
    rsvp_infos: List[Any] = field(default_factory=list)


@dataclass
class MeetingUser:
    id: UserId = _uid()
    user_role: Optional[int] = None
    user_type: Optional[int] = None


@dataclass
class Meeting:
    id: str = ""
    topic: str = ""
    meeting_no: str = ""
    meeting_source: Optional[int] = None
    start_time: str = ""
    end_time: str = ""
    host_user: MeetingUser = field(default_factory=MeetingUser)
    owner: MeetingUser = field(default_factory=MeetingUser)
    calendar_event_id: str = ""


@dataclass
class _MeetingChange:
    meeting: Meeting = field(default_factory=Meeting)
    operator: MeetingUser = field(default_factory=MeetingUser)


@dataclass
class MeetingStarted(_MeetingChange):
    """``vc.meeting.meeting_started_v1``"""

    EVENT_TYPE = "vc.meeting.meeting_started_v1"


@dataclass
class MeetingEnded(_MeetingChange):
    """``vc.meeting.meeting_ended_v1``"""

    EVENT_TYPE = "vc.meeting.meeting_ended_v1"


# ---- card callbacks ---------------------------------------------------------------------------


@dataclass
class Operator:
    tenant_key: str = ""
    user_id: str = ""
    open_id: str = ""
    union_id: str = ""


@dataclass
class Action:
    #: The component's ``value`` as configured in the card (usually a dict).
    value: Any = None
    tag: str = ""
    option: str = ""
    options: List[str] = field(default_factory=list)
    timezone: str = ""
    name: str = ""
    form_value: Any = None
    input_value: str = ""
    checked: Optional[bool] = None

    def value_str(self, key: str) -> Optional[str]:
        v = self.value.get(key) if isinstance(self.value, dict) else None
        return v if isinstance(v, str) else None


@dataclass
class CardContext:
    url: str = ""
    preview_token: str = ""
    open_message_id: str = ""
    open_chat_id: str = ""


@dataclass
class CardAction:
    """``card.action.trigger`` (a callback: answer with ``toast_*`` or ``respond``)."""

    EVENT_TYPE = "card.action.trigger"
    operator: Operator = field(default_factory=Operator)
    token: str = ""
    action: Action = field(default_factory=Action)
    host: str = ""
    delivery_type: str = ""
    context: CardContext = field(default_factory=CardContext)

    def value_str(self, key: str) -> Optional[str]:
        """``action.value[key]`` when it is a string."""
        return self.action.value_str(key)

    def form_value_str(self, name: str) -> Optional[str]:
        """``action.form_value[name]`` (a form submission) when it is a string."""
        v = self.action.form_value.get(name) if isinstance(self.action.form_value, dict) else None
        return v if isinstance(v, str) else None

    def open_chat_id(self) -> str:
        """The chat of the card's message (``context.open_chat_id``)."""
        return self.context.open_chat_id

    def open_message_id(self) -> str:
        """The card's message (``context.open_message_id``), for updating it."""
        return self.context.open_message_id


@dataclass
class UrlPreview:
    """``url.preview.get`` (a callback: a link of the app's domains was sent; answer with
    ``aviary_guest.url_preview(title)`` or a card, within 3 s)."""

    EVENT_TYPE = "url.preview.get"
    operator: Operator = field(default_factory=Operator)
    host: str = ""
    context: CardContext = field(default_factory=CardContext)

    def url(self) -> str:
        """The link to preview (``context.url``)."""
        return self.context.url

    def preview_token(self) -> str:
        """The preview's token (``context.preview_token``)."""
        return self.context.preview_token


@dataclass
class Other:
    """An event type without a model: ``body`` is the raw ``event`` dict."""

    event_type: str = ""
    body: Dict[str, Any] = field(default_factory=dict)


# The runtime's merged turn (its module uses MessageReceive, defined above).
from .merged import MergedMessages  # noqa: E402

_MODELS = [
    MessageReceive,
    MessageRead,
    ChatMemberUserAdded,
    ChatMemberUserDeleted,
    ChatUpdated,
    ChatMemberBotAdded,
    ChatMemberBotDeleted,
    ReactionCreated,
    ReactionDeleted,
    MessageRecalled,
    ChatDisbanded,
    BotP2pChatEntered,
    BotMenu,
    UserCreated,
    UserUpdated,
    UserDeleted,
    DepartmentCreated,
    DepartmentUpdated,
    DepartmentDeleted,
    ApprovalApproved,
    ApprovalRejected,
    CalendarEventChanged,
    MeetingStarted,
    MeetingEnded,
    CardAction,
    MergedMessages,
    UrlPreview,
]

#: event type -> model class.
EVENT_MODELS: Dict[str, type] = {m.EVENT_TYPE: m for m in _MODELS}

TypedEvent = Union[
    MessageReceive,
    MessageRead,
    ChatMemberUserAdded,
    ChatMemberUserDeleted,
    ChatUpdated,
    ChatMemberBotAdded,
    ChatMemberBotDeleted,
    ReactionCreated,
    ReactionDeleted,
    MessageRecalled,
    ChatDisbanded,
    BotP2pChatEntered,
    BotMenu,
    UserCreated,
    UserUpdated,
    UserDeleted,
    DepartmentCreated,
    DepartmentUpdated,
    DepartmentDeleted,
    ApprovalApproved,
    ApprovalRejected,
    CalendarEventChanged,
    MeetingStarted,
    MeetingEnded,
    CardAction,
    MergedMessages,
    UrlPreview,
    Other,
]


def parse(event_type: str, body: Dict[str, Any]) -> Any:
    """``body`` as the model for ``event_type``, else ``Other``."""
    model = EVENT_MODELS.get(event_type)
    if model is None:
        return Other(event_type=event_type, body=body)
    return _from_dict(model, body)
