"""Helpers for stream tests and the benchmark: Campbell-style logger lines, a TCP sender that
resends what was not acknowledged, and reading a stream's day dataset from the catalog."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Dataset

START = datetime(1999, 3, 1, 0, 0, tzinfo=UTC)


def met_line(i: int, start: datetime = START, step_s: float = 1.0) -> str:
    """The i-th line of a CR1000 one-minute table (as its serial output writes it)."""
    when = start + timedelta(seconds=i * step_s)
    temp = 27.0 + (i % 50) / 100
    return (
        f'"{when:%Y-%m-%d %H:%M:%S}",{i},{temp:.2f},78.{i % 10},1011.{i % 7},5.{i % 9}0,'
        f"6{i % 10}.5,0"
    )


class LineSender:
    """Sends lines over TCP one at a time, waiting for each answer; on a broken connection
    it reconnects and sends the unanswered line again (the stream drops a resend)."""

    def __init__(self, host: str, port: int, token: str = "", deadline_s: float = 20) -> None:
        self.address, self.token, self.deadline_s = (host, port), token, deadline_s
        self._socket: socket.socket | None = None
        self._answers: BinaryIO | None = None
        self.reconnects = 0

    def _connect(self) -> None:
        end = time.monotonic() + self.deadline_s
        while True:
            try:
                self._socket = socket.create_connection(self.address, timeout=5)
                self._answers = self._socket.makefile("rb")
                if self.token:
                    self._socket.sendall(f"TOKEN {self.token}\n".encode())
                    self._answer()
                return
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def _answer(self) -> str:
        assert self._answers is not None
        answer = self._answers.readline().decode().strip()
        if not answer:
            raise ConnectionError("no answer")
        return answer

    def send(self, line: str) -> str:
        """The stream's answer to `line` (`ok` or `refused CODE ...`), resending as needed."""
        return self.send_many([line])[0]

    def send_many(self, lines: list[str]) -> list[str]:
        """Send `lines` at once, then read their answers (a pipelined sender); after a broken
        connection the unanswered lines are sent again."""
        end = time.monotonic() + self.deadline_s
        answers: list[str] = []
        while len(answers) < len(lines):
            try:
                if self._socket is None:
                    self._connect()
                assert self._socket is not None
                rest = lines[len(answers) :]
                self._socket.sendall("".join(f"{line}\n" for line in rest).encode())
                for _ in rest:
                    answers.append(self._answer())
            except OSError:
                self.close()
                self.reconnects += 1
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        return answers

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._answers is not None:
            self._answers.close()
        self._socket = None
        self._answers = None


def day_version(session: Session, did: str) -> str | None:
    """The DATA VERSION of the day dataset `did`'s current version (None: not registered)."""
    dataset = session.scalars(select(Dataset).where(Dataset.did == did)).one_or_none()
    if dataset is None or dataset.current_version is None:
        return None
    return dataset.current_version.data_version
