"""The notebook as the record: the protocol with the frontend, the recorder that writes agent
cells with provenance, the run records kept in metadata, and their schemas."""
