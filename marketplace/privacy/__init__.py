"""The person's rights (GDPR arts. 15 to 21): access, rectification, erasure and
objection, asked at /privacy, confirmed by a signed link, answered by an admin within
the legal month; erasure and rectification reach every buyer that holds the data."""
