package io.lccheckpoint.schema.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lccheckpoint.schema.CheckpointPosition;
import io.lccheckpoint.schema.DType;
import io.lccheckpoint.schema.RawDeltaChunk;
import io.lccheckpoint.schema.RemainingStages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class SingleObjectSerdeTest {

    private static Schema released(String file, String name) throws IOException {
        try (InputStream in = SingleObjectSerdeTest.class.getResourceAsStream("/io/lccheckpoint/schema/previous/" + file)) {
            return new Schema.Parser().parse(in).getTypes().stream().filter(type -> type.getFullName().equals(name)).findFirst().orElseThrow();
        }
    }

    @Test
    void aRecordWrittenWithAnEarlierReleaseIsReadIntoTodaysClass() throws IOException {
        // a trainer built from release 0.2.0's .avsc (before storedAt) keeps working: its fingerprint is known
        Schema old = released("lccheckpoint-0.2.0.avsc", RawDeltaChunk.getClassSchema().getFullName());
        GenericRecord record = new GenericData.Record(old);
        record.put("job", "j");
        record.put("generation", 0L);
        record.put("step", 7L);
        record.put("tensor", "w");
        record.put("chunk", 2);
        record.put("chunkCount", 3);
        record.put("stepChunks", 4);
        record.put("dtype", new GenericData.EnumSymbol(old.getField("dtype").schema(), "FLOAT32"));
        record.put("initial", false);
        record.put("values", ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
        record.put("remaining", new GenericData.EnumSymbol(old.getField("remaining").schema(), "ALL"));
        record.put("residualFolded", false);
        record.put("handover", false);
        record.put("previousStep", 6L);
        ByteBuffer bytes = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), old).encode(record);
        byte[] wire = new byte[bytes.remaining()];
        bytes.get(wire);

        RawDeltaChunk read = (RawDeltaChunk) SingleObjectSerde.decode(wire);
        assertThat(read.getStep()).isEqualTo(7L);
        assertThat(read.getPreviousStep()).isEqualTo(6L);
        assertThat(read.getStoredAt()).isNull();
        // and today's encoding differs from it (a new fingerprint), so the two versions really are told apart
        RawDeltaChunk now = new RawDeltaChunk("j", 0L, 7L, "w", 2, 3, 4, DType.FLOAT32, false, ByteBuffer.allocate(0), RemainingStages.NONE, "o",
                false, false, 6L, new CheckpointPosition(1, 99L), null);
        byte[] current = SingleObjectSerde.encode(now);
        assertThat(java.util.Arrays.copyOfRange(current, 2, 10)).isNotEqualTo(java.util.Arrays.copyOfRange(wire, 2, 10));
        assertThat(((RawDeltaChunk) SingleObjectSerde.decode(current)).getStoredAt()).isEqualTo(new CheckpointPosition(1, 99L));
    }

    @Test
    void anUnknownFingerprintIsRefusedByName() {
        byte[] bytes = new byte[12];
        bytes[0] = (byte) 0xC3;
        bytes[1] = 0x01;
        assertThatThrownBy(() -> SingleObjectSerde.decode(bytes)).isInstanceOf(SerializationException.class).hasMessageContaining("unknown schema fingerprint");
    }
}
