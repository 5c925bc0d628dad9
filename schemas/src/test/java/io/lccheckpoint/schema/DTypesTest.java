package io.lccheckpoint.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Every dtype of the schemas has a width and a safetensors tag; this release checkpoints the four float types. */
class DTypesTest {

    @Test
    void everyDtypeHasItsWidthAndItsSafetensorsTag() {
        assertThat(Arrays.stream(DType.values()).mapToInt(DTypes::bytesPerValue).toArray()).containsExactly(4, 8, 2, 2, 1, 2, 4, 8, 1, 1);
        assertThat(Arrays.stream(DType.values()).map(DTypes::safetensorsTag).toList())
                .containsExactly("F32", "F64", "BF16", "F16", "I8", "I16", "I32", "I64", "U8", "BOOL");
    }

    @Test
    void theFloatTypesAreCheckpointedTheOthersRefusedWithAReason() {
        assertThat(Arrays.stream(DType.values()).filter(DTypes::supported).toList())
                .containsExactly(DType.FLOAT32, DType.FLOAT64, DType.BFLOAT16, DType.FLOAT16);
        // a 16-bit tensor's deltas travel as float32
        assertThat(DTypes.deltaBytesPerValue(DType.BFLOAT16)).isEqualTo(4);
        assertThat(DTypes.deltaBytesPerValue(DType.FLOAT64)).isEqualTo(8);
        assertThat(DTypes.unsupported(DType.INT64)).startsWith("dtype INT64 is not checkpointed by this release");
    }
}
