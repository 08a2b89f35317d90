from django.shortcuts import render

from clozup.decorators import member_required
from crm import selectors


@member_required
def home(request):
    return render(request, "crm/home.html")


@member_required
def lead_detail(request, pk: int):
    lead = selectors.get_lead(pk)
    return render(request, "crm/lead_detail.html", {"lead": lead})
