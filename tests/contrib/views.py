from django.http import HttpResponse
from django_otp.decorators import otp_required


@otp_required
def protected(request):
    return HttpResponse(f"secret for {request.user.get_username()}")
