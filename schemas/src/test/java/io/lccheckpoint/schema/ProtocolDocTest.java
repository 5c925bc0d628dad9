package io.lccheckpoint.schema;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * docs/PROTOCOL.md lists the single-object fingerprint of every framed record for producers in other languages: the
 * table must be the schemas' own, so a schema change that moves a fingerprint also moves the document.
 */
class ProtocolDocTest {
    private static final Path PROTOCOL = Path.of("../docs/PROTOCOL.md");

    @Test
    void theFingerprintTableIsTheSchemasOwn() throws IOException {
        Map<String, String> documented = new LinkedHashMap<>();
        Matcher row = Pattern.compile("^\\| `(\\w+)` \\| [^|]+ \\| `([0-9a-f]{16})` \\| `([0-9a-f]{16})` \\|$", Pattern.MULTILINE)
                .matcher(Files.readString(PROTOCOL));
        while (row.find()) {
            documented.put(row.group(1), row.group(2));
        }
        List<Schema> framed = List.of(ChunkKey.getClassSchema(), RawDeltaChunk.getClassSchema(), StepManifest.getClassSchema(),
                CheckpointKey.getClassSchema(), EncodedChunkRecord.getClassSchema(), SuperstepChunk.getClassSchema(),
                StepComplete.getClassSchema(), DeadLetter.getClassSchema(), ChunkStateHandover.getClassSchema());
        assertThat(documented.keySet()).containsExactlyElementsOf(framed.stream().map(Schema::getName).toList());
        for (Schema schema : framed) {
            assertThat(documented.get(schema.getName())).as(schema.getName()).isEqualTo(HexFormat.of().formatHex(header(schema)));
        }
        // and they are the bytes after C3 01 of what we write
        byte[] key = SingleObjectSerde.encode(new ChunkKey("run-1", "fc.weight", 0));
        assertThat(HexFormat.of().formatHex(key, 0, 10)).isEqualTo("c301" + documented.get("ChunkKey"));
    }

    /** The fingerprint bytes as SingleObjectSerde writes them: CRC-64-AVRO of the canonical form, little-endian. */
    private static byte[] header(Schema schema) {
        long fingerprint = org.apache.avro.SchemaNormalization.parsingFingerprint64(schema);
        byte[] bytes = new byte[8];
        for (int i = 0; i < 8; i++) {
            bytes[i] = (byte) (fingerprint >>> (8 * i));
        }
        return bytes;
    }
}
