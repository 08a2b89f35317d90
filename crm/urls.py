from django.urls import path

from crm.views import imports, records, work

app_name = "crm"

SUBJECTS = "<str:plural>/<int:pk>"

urlpatterns = [
    path("", work.home, name="home"),
    path("deals/board/", work.board, name="deal-board"),
    path("deals/<int:pk>/move/", work.move_deal, name="deal-move"),
    path("leads/<int:pk>/status/", work.set_lead_status, name="lead-status"),
    path("leads/<int:pk>/convert/", work.convert_lead, name="lead-convert"),
    path(f"{SUBJECTS}/activities/", work.log_activity, name="activity-create"),
    path(f"{SUBJECTS}/files/", work.upload_file, name="file-upload"),
    path("activities/<int:pk>/done/", work.complete_task, name="activity-done"),
    path(
        "files/attachments/<int:pk>/",
        work.download_attachment,
        name="attachment-download",
    ),
    path(
        "files/recordings/<int:pk>/", work.download_recording, name="recording-download"
    ),
    path("forecast/", work.forecast, name="forecast"),
    path("imports/", imports.import_list, name="import-list"),
    path("imports/new/", imports.import_upload, name="import-upload"),
    path("imports/<int:pk>/", imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import-progress"),
]
for kind in records.KINDS:
    urlpatterns += records.make_views(kind)
