"""The publisher portal, the hosted and embeddable capture forms, the posting API."""
