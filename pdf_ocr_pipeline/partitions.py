import dagster as dg

#: One partition per document; keys come from file names (see ``inbox.document_key``).
document_partitions_def = dg.DynamicPartitionsDefinition(name="documents")
