"""The analysis floor: numbers from records, in plain Python (numpy, scipy, plotly), no Django, no app.

Every app may import it; it imports none (an import-linter contract holds it). ``records`` is a
rating as the analysis sees it, with the one rule of who won; ``stats`` the statistics; ``report``
builds the report dict; ``judge`` its judge block and prediction-powered intervals; ``settling`` the
stop-when-settled block and closure rules; ``quality_flags`` and ``pair_weights`` the rules the
campaign page and serving apply; ``figures`` the report's plots as plotly dicts.
"""
