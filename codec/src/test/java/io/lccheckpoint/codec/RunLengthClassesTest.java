package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RunLengthClassesTest {

    @Test
    void everyValueIsItsClassBasePlusItsExtraBits() {
        for (long v = 1; v <= (1L << 30) + 1; v = v < 100_000 ? v + 1 : v * 3 / 2 + 1) {
            check((int) v);
        }
        check((1 << 30) + 1);
        check(Integer.MAX_VALUE);
    }

    private static void check(int v) {
        int runClass = RunLengthClasses.classOf(v);
        assertThat(runClass).isLessThan(RunLengthClasses.MAX_CLASSES);
        long offset = v - RunLengthClasses.base(runClass);
        assertThat(offset).isBetween(0L, (1L << RunLengthClasses.extraBits(runClass)) - 1);
        if (runClass + 1 < RunLengthClasses.MAX_CLASSES) {
            assertThat(RunLengthClasses.base(runClass + 1)).isEqualTo(RunLengthClasses.base(runClass) + (1L << RunLengthClasses.extraBits(runClass)));
        }
    }
}
