package io.lccheckpoint.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Every dtype of the schemas has a width and a safetensors tag; the four float types are quantized, the rest exact. */
class DTypesTest {

    @Test
    void everyDtypeHasItsWidthAndItsSafetensorsTag() {
        assertThat(Arrays.stream(DType.values()).mapToInt(DTypes::bytesPerValue).toArray()).containsExactly(4, 8, 2, 2, 1, 2, 4, 8, 1, 1);
        assertThat(Arrays.stream(DType.values()).map(DTypes::safetensorsTag).toList())
                .containsExactly("F32", "F64", "BF16", "F16", "I8", "I16", "I32", "I64", "U8", "BOOL");
    }

    @Test
    void theFloatTypesAreQuantizedTheOthersStoredExactly() {
        assertThat(Arrays.stream(DType.values()).filter(DTypes::isFloat).toList())
                .containsExactly(DType.FLOAT32, DType.FLOAT64, DType.BFLOAT16, DType.FLOAT16);
        assertThat(Arrays.stream(DType.values()).filter(DTypes::isExact).toList())
                .containsExactly(DType.INT8, DType.INT16, DType.INT32, DType.INT64, DType.UINT8, DType.BOOL);
        // a 16-bit float tensor's deltas travel as float32; an integer tensor's in its own width
        assertThat(DTypes.deltaBytesPerValue(DType.BFLOAT16)).isEqualTo(4);
        assertThat(DTypes.deltaBytesPerValue(DType.FLOAT64)).isEqualTo(8);
        assertThat(DTypes.deltaBytesPerValue(DType.INT16)).isEqualTo(2);
        assertThat(DTypes.deltaBytesPerValue(DType.BOOL)).isEqualTo(1);
    }
}
