"""The verdicts that claim a difference: what an A/A validity test counts as a false call.

"faster (or slower) but within margin" says the difference is real (only smaller than the margin), so on an A/A
campaign it is as false as "faster" or "slower"; every A/A and no-true-difference test counts all four.
"""

from __future__ import annotations

from analysis.vocabulary import VERDICTS

#: verdicts that claim a direction, from the one list of verdicts
CALLS: tuple[str, ...] = tuple(v for v in VERDICTS if v.split()[0] in ("faster", "slower"))
