package io.lccheckpoint.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rooms of the house (ARCHITECTURE.md), checked on the compiled classes of every module: what each module may use,
 * and what it may not. A rule broken here names the class and the dependency.
 */
class ArchitectureTest {
    private static final String CODEC = "io.lccheckpoint.codec..";
    private static final String SCHEMAS = "io.lccheckpoint.schema..";
    private static final String PRODUCER = "io.lccheckpoint.producer..";
    private static final String ENCODER = "io.lccheckpoint.encoder..";
    private static final String RESTORER = "io.lccheckpoint.restorer..";
    private static final String EMBEDDED = "io.lccheckpoint.embedded..";
    private static final String EXPERIMENTS = "io.lccheckpoint.experiments..";
    private static final String EVAL = "io.lccheckpoint.eval..";
    private static final String CLI = "io.lccheckpoint.cli..";

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("io.lccheckpoint");
    }

    @Test
    void theCodecKnowsNothingButTheJdk() {
        classes().that().resideInAPackage(CODEC).should().onlyDependOnClassesThat().resideInAnyPackage(CODEC, "java..")
                .because("the codec is a pure-Java library: no Kafka, no Avro, no pipeline (README: the codec in one page)")
                .check(classes);
    }

    @Test
    void theKafkaModulesHoldNoCodecLogicOfTheirOwn() {
        // quantizing, promoting or coding values takes their bits: only the codec looks at them
        noClasses().that().resideInAnyPackage(SCHEMAS, PRODUCER, ENCODER, RESTORER)
                .should().callMethod(Float.class, "floatToRawIntBits", float.class)
                .orShould().callMethod(Float.class, "floatToIntBits", float.class)
                .orShould().callMethod(Double.class, "doubleToRawLongBits", double.class)
                .orShould().callMethod(Double.class, "doubleToLongBits", double.class)
                .orShould().callMethod(Math.class, "getExponent", float.class)
                .orShould().callMethod(Math.class, "getExponent", double.class)
                .because("the Kafka-facing modules run the codec through its entry points (ChunkEncoder, ChunkDecoder, ChunkState)")
                .check(classes);
    }

    @Test
    void theSchemasKnowNoComponent() {
        noClasses().that().resideInAPackage(SCHEMAS).should().dependOnClassesThat()
                .resideInAnyPackage(CODEC, PRODUCER, ENCODER, RESTORER, EMBEDDED, EXPERIMENTS, EVAL, CLI)
                .because("the schemas and topic names are what the components share: they depend on none of them")
                .check(classes);
    }

    @Test
    void theProducerTheEncoderAndTheRestorerDoNotUseOneAnother() {
        noClasses().that().resideInAPackage(PRODUCER).should().dependOnClassesThat().resideInAnyPackage(ENCODER, RESTORER).check(classes);
        noClasses().that().resideInAPackage(ENCODER).should().dependOnClassesThat().resideInAnyPackage(PRODUCER, RESTORER).check(classes);
        noClasses().that().resideInAPackage(RESTORER).should().dependOnClassesThat().resideInAnyPackage(PRODUCER, ENCODER).check(classes);
    }

    @Test
    void theProductKnowsNoExperimentNorTool() {
        noClasses().that().resideInAnyPackage(CODEC, SCHEMAS, PRODUCER, ENCODER, RESTORER).should().dependOnClassesThat()
                .resideInAnyPackage(EMBEDDED, EXPERIMENTS, EVAL, CLI)
                .because("what a user deploys carries no experiment, no embedded broker and no command line")
                .check(classes);
        noClasses().that().resideInAPackage(EMBEDDED).should().dependOnClassesThat()
                .resideInAnyPackage(PRODUCER, ENCODER, RESTORER, EXPERIMENTS, EVAL, CLI)
                .because("the embedded broker is Kafka's alone, shared by the demo, the experiments and the tests")
                .check(classes);
    }

    @Test
    void theProducersInternalsAreItsOwn() {
        noClasses().that().resideOutsideOfPackage(PRODUCER).should().dependOnClassesThat().resideInAPackage("io.lccheckpoint.producer.internals..")
                .because("the producer's API is CheckpointProducer, its settings, SplitPlanner and its exceptions (as Kafka's internals packages)")
                .check(classes);
    }
}
