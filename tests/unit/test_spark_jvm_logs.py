"""The driver JVM's stderr lines get their real level (a task log labelled every one of them ERROR)."""

from __future__ import annotations

import logging

import pytest

from citybrain.spark.jvm_logs import line_level

pytestmark = pytest.mark.unit

D, INF, W, E = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR


@pytest.mark.parametrize(("lines", "levels"), [
    (["WARNING: Using incubator modules: jdk.incubator.vector", 'Setting default log level to "WARN".',
      "To adjust logging level use sc.setLogLevel(newLevel). For SparkR, use setLogLevel(newLevel)."], [D, D, D]),
    (["19:10:06 WARN NativeCodeLoader: Unable to load native-hadoop library"], [W]),
    (["19:10:07 ERROR Executor: Exception in task 0.0", "java.lang.OutOfMemoryError: Java heap space",
      "\tat org.apache.spark.Foo.bar(Foo.scala:1)", "Caused by: java.io.IOException: disk", "\t... 12 more",
      "19:10:08 INFO Something: fine", "\tindented but after INFO"], [E, E, E, E, E, INF, D]),
])
def test_each_line_gets_the_level_of_its_log4j_record_or_debug(lines, levels):
    got, previous = [], D
    for line in lines:
        previous = line_level(line, previous)
        got.append(previous)
    assert got == levels
