"""Issue 31: an item's token is enciphered from its ids (annotate.rater_tokens), no longer stored.

The stored random token needed a unique index, and at a million comparisons inserting a million random
keys into it was about a quarter of the build; every rating's non-HOT update of the row also wrote it.
A page open while this runs sends a token that no longer names an item: its rating is refused as an
unknown item and the page serves the next one.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("annotate", "0021_comparison_index_by_id")]

    operations = [migrations.RemoveField(model_name="comparison", name="token")]
