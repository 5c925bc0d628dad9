package io.lccheckpoint.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaIncompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

/**
 * Every schema stays compatible with every released version (src/main/resources/io/lccheckpoint/schema/previous/, one file per release; SingleObjectSerde also decodes records written with them):
 * new readers read old records (backward) and old readers read new records (forward), so producers, encoders and
 * restorers can be upgraded in any order. When a release ships, copy src/main/avro/lccheckpoint.avsc there.
 */
class SchemaCompatibilityTest {

    static Map<String, Schema> named(Schema union) {
        Map<String, Schema> byName = new TreeMap<>();
        for (Schema schema : union.getTypes()) {
            byName.put(schema.getFullName(), schema);
        }
        return byName;
    }

    static Schema parse(InputStream in) throws IOException {
        return new Schema.Parser().parse(in);
    }

    static Map<String, Schema> current() throws IOException {
        try (InputStream in = Files.newInputStream(Path.of("src/main/avro/lccheckpoint.avsc"))) {
            return named(parse(in));
        }
    }

    static List<Path> releases() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("src/main/resources/io/lccheckpoint/schema/previous"))) {
            return files.filter(p -> p.toString().endsWith(".avsc")).sorted().toList();
        }
    }

    @Test
    void everySchemaIsFullyCompatibleWithEveryRelease() throws IOException {
        Map<String, Schema> current = current();
        List<Path> releases = releases();
        assertThat(releases).isNotEmpty();
        for (Path release : releases) {
            Map<String, Schema> previous;
            try (InputStream in = Files.newInputStream(release)) {
                previous = named(parse(in));
            }
            assertThat(current.keySet()).as("no type of %s disappears", release.getFileName()).containsAll(previous.keySet());
            for (Map.Entry<String, Schema> old : previous.entrySet()) {
                Schema now = current.get(old.getKey());
                assertCompatible(now, old.getValue(), old.getKey() + " reads " + release.getFileName());
                assertCompatibleButForNewDtypes(old.getValue(), now, release.getFileName() + " reads " + old.getKey());
            }
        }
    }

    @Test
    void theCheckRefusesAnIncompatibleChange() throws IOException {
        // the test above can fail: a new required field without a default is not backward compatible
        Schema old = current().get("io.lccheckpoint.schema.StepComplete");
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field field : old.getFields()) {
            fields.add(new Schema.Field(field, field.schema()));
        }
        fields.add(new Schema.Field("tenant", Schema.create(Schema.Type.STRING), "no default", (Object) null));
        Schema changed = Schema.createRecord(old.getName(), old.getDoc(), old.getNamespace(), false, fields);
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(changed, old).getType())
                .isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
    }

    @Test
    void generatedClassesMatchTheSchemaFile() throws IOException {
        // compared in Avro's parsing canonical form: the generated classes add "avro.java.string" properties
        Map<String, Schema> current = current();
        for (Schema generated : new Schema[] {RawDeltaChunk.getClassSchema(), StepManifest.getClassSchema(), CheckpointKey.getClassSchema(),
                EncodedChunkRecord.getClassSchema(), SuperstepChunk.getClassSchema(), StepComplete.getClassSchema(), DeadLetter.getClassSchema()}) {
            assertThat(SchemaNormalization.parsingFingerprint64(generated)).as(generated.getFullName())
                    .isEqualTo(SchemaNormalization.parsingFingerprint64(current.get(generated.getFullName())));
        }
    }

    /**
     * The dtypes of issue #14 are appended to {@code DType}: a reader of an earlier release cannot read a record that uses
     * one (Avro has no value to give it, and guessing would misread the bytes) and refuses it, while it reads every other
     * record as before. So forward compatibility holds except for exactly those symbols; anything else is a failure.
     */
    static final Set<String> DTYPES_OF_ISSUE_14 = Set.of("BFLOAT16", "FLOAT16", "INT8", "INT16", "INT32", "INT64", "UINT8", "BOOL");

    private static void assertCompatibleButForNewDtypes(Schema reader, Schema writer, String what) {
        SchemaCompatibility.SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        for (SchemaCompatibility.Incompatibility incompatibility : result.getResult().getIncompatibilities()) {
            assertThat(incompatibility.getType()).as(what + ": " + incompatibility.getMessage() + " at " + incompatibility.getLocation())
                    .isEqualTo(SchemaIncompatibilityType.MISSING_ENUM_SYMBOLS);
            assertThat(incompatibility.getReaderFragment().getFullName()).as(what).isEqualTo("io.lccheckpoint.schema.DType");
            Set<String> missing = new HashSet<>(incompatibility.getWriterFragment().getEnumSymbols());
            missing.removeAll(incompatibility.getReaderFragment().getEnumSymbols());
            assertThat(DTYPES_OF_ISSUE_14).as(what + ": only the dtypes of issue #14 are new").containsAll(missing);
        }
    }

    @Test
    void aReaderOfTheLastReleaseReadsFloatChunksAndRefusesNewDtypes() throws IOException {
        Schema release;
        try (InputStream in = Files.newInputStream(Path.of("src/main/resources/io/lccheckpoint/schema/previous/lccheckpoint-0.3.0.avsc"))) {
            release = named(parse(in)).get("io.lccheckpoint.schema.TensorInfo");
        }
        TensorInfo float32 = new TensorInfo("w", List.of(4L), DType.FLOAT32, 4, 1, null);
        org.apache.avro.generic.GenericRecord read = readAs(release, float32);
        assertThat(read.get("dtype").toString()).isEqualTo("FLOAT32");
        TensorInfo bfloat16 = new TensorInfo("w", List.of(4L), DType.BFLOAT16, 4, 1, null);
        assertThatThrownBy(() -> readAs(release, bfloat16)).isInstanceOf(org.apache.avro.AvroTypeException.class).hasMessageContaining("BFLOAT16");
    }

    private static org.apache.avro.generic.GenericRecord readAs(Schema reader, TensorInfo written) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        org.apache.avro.io.BinaryEncoder encoder = org.apache.avro.io.EncoderFactory.get().binaryEncoder(out, null);
        new org.apache.avro.specific.SpecificDatumWriter<TensorInfo>(TensorInfo.class).write(written, encoder);
        encoder.flush();
        org.apache.avro.io.BinaryDecoder decoder = org.apache.avro.io.DecoderFactory.get().binaryDecoder(out.toByteArray(), null);
        return new org.apache.avro.generic.GenericDatumReader<org.apache.avro.generic.GenericRecord>(TensorInfo.getClassSchema(), reader)
                .read(null, decoder);
    }

    private static void assertCompatible(Schema reader, Schema writer, String what) {
        SchemaCompatibility.SchemaPairCompatibility result = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        assertThat(result.getType()).as(what + ": " + result.getDescription()).isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }
}
