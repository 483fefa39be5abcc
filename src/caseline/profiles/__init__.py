"""Profiles: what is known of a resolved person, with the records behind it.

Public entry points: :func:`search_persons` and :func:`read_profile` (both check the access
policy and write the audit event in the caller's transaction); :func:`build_profile`,
:func:`person_addresses` and :func:`person_status` for layers above that audit their own
reads (a case's dossier); :func:`evaluate_addresses` and :func:`export_ftm` for the command
line.
"""

from caseline.profiles.address_confidence import (
    AddressConfidence,
    PersonAddresses,
    address_confidence,
    person_addresses,
)
from caseline.profiles.address_evaluation import (
    SMALL_GROUP_PERSONS,
    AddressEvaluation,
    evaluate_addresses,
)
from caseline.profiles.address_model import load_address_model
from caseline.profiles.address_plot import write_reliability_diagram
from caseline.profiles.export_ftm import EXPORT_SCOPE, ExportSummary, export_ftm
from caseline.profiles.link_graph import (
    DEFAULT_CAP,
    DEFAULT_HOPS,
    MAX_CAP,
    MAX_HOPS,
    MIN_CAP,
    GraphEdge,
    GraphPerson,
    GraphRecord,
    LinkGraph,
    read_link_graph,
)
from caseline.profiles.profile import (
    AttributeValue,
    Profile,
    ProfileRecord,
    build_profile,
    read_profile,
)
from caseline.profiles.record_details import (
    RecordDetails,
    TimelineEntry,
    ValueIssue,
    person_timeline,
    record_details,
    records_details,
)
from caseline.profiles.search import (
    MAX_RESULTS,
    PersonSummary,
    SearchFilters,
    SearchResults,
    prepare_search,
    search_persons,
)
from caseline.profiles.status_evidence import (
    BorderEvent,
    PersonStatus,
    StatusEvidence,
    in_country_since,
    load_status_records,
    person_status,
    status_by_person,
    visa_admitted_on,
    visa_ends,
)

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_HOPS",
    "EXPORT_SCOPE",
    "MAX_CAP",
    "MAX_HOPS",
    "MAX_RESULTS",
    "MIN_CAP",
    "SMALL_GROUP_PERSONS",
    "AddressConfidence",
    "AddressEvaluation",
    "AttributeValue",
    "BorderEvent",
    "ExportSummary",
    "GraphEdge",
    "GraphPerson",
    "GraphRecord",
    "LinkGraph",
    "PersonAddresses",
    "PersonStatus",
    "PersonSummary",
    "Profile",
    "ProfileRecord",
    "RecordDetails",
    "SearchFilters",
    "SearchResults",
    "StatusEvidence",
    "TimelineEntry",
    "ValueIssue",
    "address_confidence",
    "build_profile",
    "evaluate_addresses",
    "export_ftm",
    "in_country_since",
    "load_address_model",
    "load_status_records",
    "person_addresses",
    "person_status",
    "person_timeline",
    "prepare_search",
    "read_link_graph",
    "read_profile",
    "record_details",
    "records_details",
    "search_persons",
    "status_by_person",
    "visa_admitted_on",
    "visa_ends",
    "write_reliability_diagram",
]
