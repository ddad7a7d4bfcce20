"""Anonymous statistics and the standard export for the people who run the network (issue 14).

suppress.py   k-anonymity with secondary suppression, for every published table
cases.py      `stats cases`: counts and times by topic, prefecture, age band, outcome, partner
demand.py     `stats demand`: people unanswered, beside the coverage gaps of the same period
html.py       the HTML reports, with charts drawn as plain SVG (no script, no network)
export.py     `export cases`: a partner's closed cases in the documented schema
"""
