"""A DDS reader that hands over the raw CDR bytes of each sample (for the fast codecs of :mod:`codec`)."""

from __future__ import annotations

from collections.abc import Callable

from cyclonedds.core import Listener
from cyclonedds.domain import DomainParticipant
from cyclonedds.qos import Policy, Qos
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic


class _RawSample:
    """Stands in for the topic's type when samples are taken: keeps the bytes, deserializes nothing."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def deserialize(cls, data: bytes, has_header: bool = True, use_version_2: bool | None = None) -> _RawSample:
        """Wrap the bytes."""
        return cls(data)


class RawSubscriber:
    """Calls ``handler(cdr_bytes)`` from the DDS listener thread for each sample taken, oldest first.

    The reader keeps the ``keep`` newest samples not yet taken (1: only the latest matters). Uses its own
    participant in the domain that ``ChannelFactoryInitialize`` configured (same interface).
    """

    def __init__(
        self, domain: int, topic: str, idl_type: type, handler: Callable[[bytes], None], keep: int = 1
    ) -> None:
        """Subscribe to ``topic`` of the SDK type ``idl_type``."""
        self._handler = handler
        self._participant = DomainParticipant(domain)
        self._topic = Topic(self._participant, topic, idl_type)
        self._topic.data_type = _RawSample  # the C type stays idl_type; only Python-side decoding is skipped
        listener = Listener(on_data_available=self._on_data_available)
        qos = Qos(Policy.History.KeepLast(keep))
        self._reader = DataReader(self._participant, self._topic, qos=qos, listener=listener)

    def _on_data_available(self, reader: DataReader | None) -> None:
        if reader is None:  # called while being deleted
            return
        for sample in reader.take(N=64):
            if isinstance(sample, _RawSample):
                self._handler(sample.data)

    def Close(self) -> None:  # noqa: N802 (the name of the SDK channels' method)
        """Delete the reader, topic and participant."""
        for entity in (self._reader, self._topic, self._participant):
            entity.__del__()
