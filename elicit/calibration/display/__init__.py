"""How a report is shown: terminal table, figures, HTML page, Markdown tables, report.json."""
