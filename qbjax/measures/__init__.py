"""Measures of a quantum state: ergotropy and capacity (`passivity`), entanglement,
coherence and steering (`resources`), and the quantum speed limit (`qsl`)."""
