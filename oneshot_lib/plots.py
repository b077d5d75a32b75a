"""The figures the chapters draw. Each function takes data and an optional Axes, and returns
the Figure (or Axes) it drew on, so a chapter cell is one call."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
