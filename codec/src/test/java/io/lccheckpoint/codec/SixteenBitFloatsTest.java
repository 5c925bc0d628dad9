package io.lccheckpoint.codec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Round-to-nearest-even to bfloat16 and float16, checked at every boundary between two neighbours of the type. */
class SixteenBitFloatsTest {

    @Test
    void everyFiniteValueRoundTripsThroughItsBits() {
        for (ValueType type : EntropyModeContract.SIXTEEN_BIT) {
            for (int bits = 0; bits < 0x10000; bits++) {
                float value = SixteenBitFloats.valueOf(type, (short) bits);
                if (Float.isFinite(value)) {
                    assertThat(SixteenBitFloats.bitsOf(type, value) & 0xFFFF).as("%s %04x", type, bits).isEqualTo(bits);
                    assertThat(SixteenBitFloats.round(type, value)).isEqualTo(value);
                }
            }
        }
    }

    @Test
    void midpointsRoundToEvenAndTheirNeighboursToTheNearest() {
        for (ValueType type : EntropyModeContract.SIXTEEN_BIT) {
            for (int bits = 0; bits < 0x7FFF; bits++) {
                float low = SixteenBitFloats.valueOf(type, (short) bits);
                float high = SixteenBitFloats.valueOf(type, (short) (bits + 1));
                if (!Float.isFinite(low) || Float.isNaN(high)) {
                    continue;
                }
                float mid = Float.isInfinite(high)
                        ? low + (low - SixteenBitFloats.valueOf(type, (short) (bits - 1))) * 0.5f // the overflow threshold
                        : low + (high - low) * 0.5f; // exact in float32: the type has at most 11 significant bits
                float even = (bits & 1) == 0 ? low : high;
                assertThat(SixteenBitFloats.round(type, mid)).as("%s tie above %04x", type, bits).isEqualTo(even);
                assertThat(SixteenBitFloats.round(type, -mid)).isEqualTo(-even);
                assertThat(SixteenBitFloats.round(type, Math.nextDown(mid))).isEqualTo(low);
                assertThat(SixteenBitFloats.round(type, Math.nextUp(mid))).isEqualTo(high);
            }
        }
    }

    @Test
    void toBitsRoundsAndKeepsSpecialValues() {
        assertThat(SixteenBitFloats.toBits(ValueType.BFLOAT16, new float[] {1f, -0f, 0.1f, Float.NaN}))
                .containsExactly((short) 0x3F80, (short) 0x8000, (short) 0x3DCD, (short) 0x7FC0);
        assertThat(SixteenBitFloats.toBits(ValueType.FLOAT16, new float[] {1f, -0f, 0.1f, 65520f, 0x1p-24f, 1e-10f}))
                .containsExactly((short) 0x3C00, (short) 0x8000, (short) 0x2E66, (short) 0x7C00, (short) 0x0001, (short) 0x0000);
    }
}
