"""dcplan's Qt-free, ORM-free core: plan data, validation, CSV exchange, weather, solver, scheduler."""
