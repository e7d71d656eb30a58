; Definitions in shell scripts.
(function_definition name: (word) @name) @definition.function
