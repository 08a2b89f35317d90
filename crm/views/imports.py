from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from clozup.decorators import member_required
from crm import forms
from crm.models import ImportJob
from crm.services import imports


def _job(pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)


@member_required
def import_list(request):
    jobs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    return render(request, "crm/imports/list.html", {"jobs": jobs[:50]})


@member_required
def import_upload(request):
    form = forms.ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.create_import_job(
                request.organization,
                form.cleaned_data["files"],
                actor=request.user,
                allow_partial=form.cleaned_data["allow_partial"],
            )
        except imports.ImportFileRejected as error:
            form.add_error("files", str(error))
        else:
            return redirect("crm:import-detail", job.pk)
    return render(request, "crm/imports/upload.html", {"form": form})


@member_required
def import_detail(request, pk: int):
    job = _job(pk)
    if job.status == ImportJob.Status.PENDING:
        if request.method == "POST" and "refresh" in request.POST:
            # Another kind was chosen: map the columns afresh for it.
            files = imports.remap_files(job.files, request.POST)
            form = forms.ImportMappingForm(files=files)
            return render(
                request, "crm/imports/mapping.html", {"job": job, "form": form}
            )
        form = forms.ImportMappingForm(request.POST or None, files=job.files)
        if request.method == "POST" and form.is_valid():
            imports.start_import_job(job, form.chosen(), actor=request.user)
            messages.success(request, "Import started.")
            return redirect("crm:import-detail", job.pk)
        return render(request, "crm/imports/mapping.html", {"job": job, "form": form})
    return render(request, "crm/imports/detail.html", _progress_context(job))


@member_required
def import_progress(request, pk: int):
    job = _job(pk)
    if job.status == ImportJob.Status.PENDING:
        raise Http404("the import has not started")
    response = render(request, "crm/imports/_progress.html", _progress_context(job))
    if job.is_finished and request.htmx:
        # Tell htmx to stop polling and show the finished state.
        response["HX-Refresh"] = "true"
    return response


def _progress_context(job: ImportJob) -> dict:
    progress = imports.read_progress(job)
    total = progress.get("total") or 0
    percent = min(100, round(100 * progress.get("rows", 0) / total)) if total else 0
    if job.is_finished:
        percent = 100
    return {"job": job, "progress": progress, "percent": percent, "report": job.report}
