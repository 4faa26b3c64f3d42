from django.urls import path

from patron.imports import views

urlpatterns = [
    path("", views.import_index, name="import-index"),
    path("<int:pk>/", views.import_job, name="import-job"),
    path("<int:pk>/map/", views.import_map, name="import-map"),
    path("<int:pk>/errors.csv", views.import_errors, name="import-errors"),
    path("<int:pk>/rerun/", views.import_rerun, name="import-rerun"),
    path("mappings/<int:pk>/delete/", views.mapping_delete, name="import-mapping-delete"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/<int:pk>/merge/", views.duplicate_merge, name="duplicate-merge"),
    path("duplicates/<int:pk>/dismiss/", views.duplicate_dismiss, name="duplicate-dismiss"),
]
