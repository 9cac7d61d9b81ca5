"""colorlib: the library behind the colorbook (Zhang, Isola & Efros 2016; Bothin, Norlin & Reha)."""

__version__ = "0.1.0"
