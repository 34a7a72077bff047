"""Retrieval-augmented generation: ingest, chunk, embed, store, retrieve, fuse, rerank, answer.

Layout (one concern per file; the facade the CLI and the API share is
:class:`promptyard.rag.service.RagService`, ``runtime.rag``):

- ``loaders`` / ``chunking`` / ``ingest``: files to documents to chunks to one atomic corpus update
- ``embedders/``: the embedder protocol and adapters (``local`` MiniLM, ``openai``, ``fake``)
- ``stores/``: the vector store protocol and adapters (``sqlite`` embedded, ``pgvector``)
- ``resilience``: retries around an unreachable store
- ``fusion`` / ``retrieval``: reciprocal rank fusion and the hybrid retriever
- ``rerankers/``: the reranker protocol and adapters (``none``, ``cross-encoder``, ``http``)
- ``transforms``: HyDE, multi-query and decomposition through the gateway
- ``context`` / ``citations``: the token-budgeted context and the citation checks
"""
