app_name = "flashcall"
urlpatterns: list = []
