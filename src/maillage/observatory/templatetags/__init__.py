"""Template tags of the observatory (French number formatting for reports)."""
