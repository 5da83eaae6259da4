"""The model layer, at the bottom of salesnb: the canonical tables (``schema``), how a value
or a frame is checked against them (``validate``), reporting periods (``periods``) and the
row filters every query shares (``filters``). Nothing here reads a warehouse."""
