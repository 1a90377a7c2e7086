"""The report: the extension's S3 objects -> DuckDB -> per function and version, the seed's dashboard.

fetch.py    list and download the objects (boto3, concurrent, progress), or find them in a folder
load.py     read them into DuckDB with explicit columns (`record` is JSON: an object or a string)
figures.py  per function and version: invocations, cold starts, durations, memory, errors, counters
series.py   the same figures over time, for the four panels
chart.py    the PNG of the four panels         render.py   markdown and JSON
build.py    all of it, from a folder to report.{md,json,png}
"""
