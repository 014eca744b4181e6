"""Gold: thematic databases (主题库), city indicators per district and period, and the operations panorama.

    from citybrain.gold.job import run_gold
    run_gold()   # themes + incremental indicators + gold.indicator_wide + var/site/dashboard/
"""
