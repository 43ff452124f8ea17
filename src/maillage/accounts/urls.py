from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from maillage.accounts import psc, tokens, twofactor

app_name = "accounts"
urlpatterns = [
    path(
        "connexion/",
        twofactor.LoginView.as_view(),  # Django's, then the TOTP code for care roles
        name="login",
    ),
    path("connexion/code/", twofactor.otp_verify, name="otp_verify"),
    path("compte/double-authentification/", twofactor.otp_setup, name="otp_setup"),
    path("api/token/", tokens.whoami, name="token_whoami"),
    # after a Pro Santé Connect login, logging out also closes the PSC session
    path("deconnexion/", psc.LogoutView.as_view(), name="logout"),
    path("connexion/psc/", psc.LoginStartView.as_view(), name="psc_login"),
    path("connexion/psc/retour/", psc.CallbackView.as_view(), name="psc_callback"),
    # Password reset by e-mail: Django's own views, French pages and message.
    path(
        "mot-de-passe-oublie/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset_form.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "mot-de-passe-oublie/envoye/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "nouveau-mot-de-passe/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "nouveau-mot-de-passe/enregistre/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
