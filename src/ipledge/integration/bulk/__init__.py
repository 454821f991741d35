"""Bulk import and export (批量导入导出) of the platform's main entities as xlsx and csv.

`registry` declares every entity (columns, the restricted queryset it starts from, whether it can be imported),
`exporting` streams the rows a user may see into a workbook or a CSV file, `importing` validates a whole file and
writes all of it or nothing through the owning app's services. `ipledge.integration.services.bulk` wraps both with
the `BulkTransfer` record and its audit event.
"""
