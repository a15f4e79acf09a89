"""Calibrated anomaly evidence: one number per file that says how unusual it is for the user's
own library, and the one flag every part of the app shows.

* :mod:`.tail`: a component's null distribution (conformal body, fitted exponential tail);
* :mod:`.library`: the library's evidence (out-of-fold learned scores, check strengths) and the
  combination of components into one probability;
* :mod:`.floor`: defects that flag whatever the library;
* :mod:`.policy`: the user's settings (budget, checks, strength floor);
* :mod:`.judge`: library + policy applied to files (evidence, flag, reasons, words);
* :mod:`.store`: the library's evidence inside the model file.
"""

from .judge import NOTHING, Judge, Judgement
from .library import LEARNED, LibraryEvidence
from .policy import DEFAULT_BUDGET, FlagPolicy, budget_words

__all__ = ["Judge", "Judgement", "NOTHING", "LibraryEvidence", "LEARNED", "FlagPolicy",
           "DEFAULT_BUDGET", "budget_words"]
