"""The scoring core train may use: confusion counts to P/R/F1/MCC, and the P(Ent) cut."""
