# Django's Chinese formats leave numbers ungrouped; business users in mainland China, Taiwan
# and Hong Kong read money grouped by thousands with commas (12,345.60), as banks print it.
from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
